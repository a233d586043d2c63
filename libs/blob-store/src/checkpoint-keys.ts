import { randomBytes } from 'node:crypto';

/** The prefix of every checkpoint blob. */
export const CHECKPOINT_BLOB_ROOT = 'checkpoints/';

/** The prefix of one workload's checkpoint blobs; the checkpoint service accepts no other key for it. */
export const checkpointBlobPrefix = (workloadId: string): string =>
  `${CHECKPOINT_BLOB_ROOT}${workloadId}/`;

/**
 * A fresh key for checkpoint `seq` of an attempt: `checkpoints/<workloadId>/<attempt>-<seq>-<8 hex>.json`.
 * The random suffix makes every upload a new object: a fenced-out worker with the same attempt and
 * seq (possible after a rolled-back placement) must never overwrite an object a committed row
 * refers to. Call it once per upload and reuse the key for that upload's retries.
 */
export const checkpointBlobKey = (workloadId: string, attempt: number, seq: number): string =>
  `${checkpointBlobPrefix(workloadId)}${attempt}-${seq}-${randomBytes(4).toString('hex')}.json`;
