/** The prefix of every checkpoint blob. */
export const CHECKPOINT_BLOB_ROOT = 'checkpoints/';

/** The prefix of one workload's checkpoint blobs; the checkpoint service accepts no other key for it. */
export const checkpointBlobPrefix = (workloadId: string): string =>
  `${CHECKPOINT_BLOB_ROOT}${workloadId}/`;

/**
 * The key of checkpoint `seq` of an attempt. The attempt is part of it so that a zombie of an
 * earlier attempt never overwrites a blob its successor's row refers to.
 */
export const checkpointBlobKey = (workloadId: string, attempt: number, seq: number): string =>
  `${checkpointBlobPrefix(workloadId)}${attempt}-${seq}.json`;
