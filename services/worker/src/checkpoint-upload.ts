import { blobUploadBytes, blobUploads } from '@niyanta/telemetry';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobNotFoundError, checkpointBlobKey } from '@niyanta/blob-store';
import type { BlobRef, BlobStore } from '@niyanta/blob-store';
import {
  MAX_JSON_DEPTH,
  mayHoldUnstorableText,
  sanitizeJson,
  storableErrors,
} from '@niyanta/messages';
import type { AssignmentV1, CheckpointV1 } from '@niyanta/messages';
import { WorkloadError } from '@niyanta/worker-sdk';
import type { CompletionBody } from './completion.js';

/** The checkpoint an assignment carries (inline data or a blob reference). */
export type AssignedCheckpoint = NonNullable<AssignmentV1['assignments'][number]['checkpoint']>;

/** Why a blob checkpoint could not be restored: the codes of the `failed` completion. */
export const RESTORE_FAILURES = {
  /** The object differs from its row (size or sha256), or is not JSON. */
  corrupt: 'CHECKPOINT_CORRUPT',
  /** The object is gone. */
  missing: 'CHECKPOINT_MISSING',
  /** The blob store could not be read. */
  unavailable: 'CHECKPOINT_UNAVAILABLE',
} as const;
export type RestoreFailure = (typeof RESTORE_FAILURES)[keyof typeof RESTORE_FAILURES];

/** Uploads are streamed in slices of this size, hashed as they go. */
const UPLOAD_SLICE_BYTES = 1024 * 1024;
const UPLOAD_TRIES = 3;

/**
 * A large checkpoint could not be uploaded to the blob store. A `WorkloadError` so that, when the
 * handler lets it propagate, the attempt fails with its code and is retried (from the last
 * committed checkpoint).
 */
export class CheckpointUploadError extends WorkloadError {
  override name = 'CheckpointUploadError';
  constructor(
    readonly key: string,
    readonly bytes: number,
    options: { cause: unknown },
  ) {
    super(
      `checkpoint of ${bytes} bytes could not be uploaded to the blob store as "${key}" after ${UPLOAD_TRIES} tries: ${(options.cause as Error).message ?? String(options.cause)}. Check BLOB_STORE and its settings, and that the store is reachable.`,
      { code: 'CHECKPOINT_UPLOAD_FAILED', retryable: true, details: { key, bytes }, ...options },
    );
  }
}

/** Levels a state may nest: it is one level down in a checkpoint message, which may have 64. */
const STATE_MAX_DEPTH = MAX_JSON_DEPTH - 1;

/** A checkpoint state nested deeper than a checkpoint message may carry. */
export class CheckpointTooDeepError extends WorkloadError {
  override name = 'CheckpointTooDeepError';
  constructor(readonly path: string) {
    super(
      `checkpoint state is nested deeper than ${STATE_MAX_DEPTH} levels (at "${path}"). Checkpoint a flatter state.`,
      { code: 'CHECKPOINT_TOO_DEEP', retryable: false, details: { path } },
    );
  }
}

/**
 * Where a run's checkpoints go: small ones inline in the broker message, ones over
 * `inlineMaxBytes` (of JSON) to the blob store, the message carrying only the reference.
 */
export class CheckpointStorage {
  constructor(
    private readonly blobs: BlobStore,
    /** JSON bytes above which a state goes to the blob store (CHECKPOINT_INLINE_MAX_BYTES). */
    readonly inlineMaxBytes: number,
  ) {}

  /**
   * The payload of checkpoint message `seq`: `{data}` for a small state, else `{blob}` once the
   * JSON is uploaded under a fresh `checkpoints/<workloadId>/<attempt>-<seq>-<8 hex>.json` (size and sha256
   * measured while uploading). Returns the JSON's size too, for logs.
   */
  async payload(
    ids: { workloadId: string; attempt: number; seq: number },
    state: unknown,
  ): Promise<{ body: Pick<CheckpointV1, 'data' | 'blob'>; bytes: number }> {
    // Before JSON.stringify, which would exhaust the stack on a state nested thousands deep.
    const [tooDeep] = storableErrors(state, { maxDepth: STATE_MAX_DEPTH, checkText: false });
    if (tooDeep !== undefined) throw new CheckpointTooDeepError(tooDeep.path);
    // JSON.stringify(undefined) is undefined: such a state is stored as null, as inline.
    let json = JSON.stringify(state) ?? 'null';
    // U+0000 and lone surrogates become U+FFFD, as in everything the worker publishes.
    if (mayHoldUnstorableText(json)) {
      state = sanitizeJson(state);
      json = JSON.stringify(state) ?? 'null';
    }
    const bytes = Buffer.byteLength(json);
    if (bytes <= this.inlineMaxBytes) return { body: { data: state }, bytes };
    const key = checkpointBlobKey(ids.workloadId, ids.attempt, ids.seq);
    const data = Buffer.from(json);
    for (let tries = 1; ; tries++) {
      try {
        const blob: BlobRef = await this.blobs.put(key, Readable.from(slices(data)));
        blobUploads.inc({ outcome: 'ok' });
        blobUploadBytes.inc(bytes);
        return { body: { blob }, bytes };
      } catch (err) {
        blobUploads.inc({ outcome: 'error' });
        if (tries >= UPLOAD_TRIES) throw new CheckpointUploadError(key, bytes, { cause: err });
        await new Promise((resolve) => setTimeout(resolve, 200 * tries));
      }
    }
  }

  /**
   * The state of an assigned checkpoint: inline data as is; a blob downloaded and checked
   * against the size and sha256 its row recorded. A failure is the completion to send instead
   * of running (retryable: the scheduler places it again, maybe where the store answers).
   */
  async restore(
    checkpoint: AssignedCheckpoint,
  ): Promise<
    | { ok: true; state: unknown }
    | { ok: false; error: NonNullable<CompletionBody['error']>; cause?: unknown }
  > {
    if (checkpoint.storage !== 'blob') return { ok: true, state: checkpoint.data };
    const ref = checkpoint.blob;
    const fail = (code: RestoreFailure, message: string, cause?: unknown) => ({
      ok: false as const,
      error: { message, code, retryable: true },
      cause,
    });
    if (ref === undefined)
      return fail(
        RESTORE_FAILURES.corrupt,
        `checkpoint ${checkpoint.seq} is stored as a blob but the assignment carries no blob reference. Check the scheduler's checkpoint row.`,
      );
    let body: Buffer;
    try {
      body = await this.blobs.get(ref.key);
    } catch (err) {
      if (err instanceof BlobNotFoundError)
        return fail(
          RESTORE_FAILURES.missing,
          `checkpoint ${checkpoint.seq} (blob "${ref.key}") is missing from the blob store. Check the worker and the checkpoint service use the same blob store.`,
          err,
        );
      return fail(
        RESTORE_FAILURES.unavailable,
        `checkpoint ${checkpoint.seq} (blob "${ref.key}") could not be read: ${(err as Error).message}`,
        err,
      );
    }
    const sha256 = createHash('sha256').update(body).digest('hex');
    if (body.length !== ref.size || sha256 !== ref.sha256)
      return fail(
        RESTORE_FAILURES.corrupt,
        `checkpoint ${checkpoint.seq} (blob "${ref.key}") is ${body.length} bytes with sha256 ${sha256}, but ${ref.size} bytes with sha256 ${ref.sha256} were committed. The object was changed after it was written.`,
      );
    try {
      return { ok: true, state: JSON.parse(body.toString('utf8')) as unknown };
    } catch (err) {
      return fail(
        RESTORE_FAILURES.corrupt,
        `checkpoint ${checkpoint.seq} (blob "${ref.key}") is not JSON: ${(err as Error).message}`,
        err,
      );
    }
  }

  /** Closes the blob store's connections. */
  close(): Promise<void> {
    return this.blobs.close();
  }
}

function* slices(data: Buffer): Generator<Buffer> {
  for (let at = 0; at < data.length; at += UPLOAD_SLICE_BYTES)
    yield data.subarray(at, at + UPLOAD_SLICE_BYTES);
}
