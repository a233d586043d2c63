import { createHash } from 'node:crypto';
import { BlobNotFoundError, checkpointBlobPrefix, InvalidBlobKeyError } from '@niyanta/blob-store';
import type { BlobRef, BlobStore } from '@niyanta/blob-store';

/** Whether a blob checkpoint's object is there as the message describes it. */
export type BlobCheck =
  | { ok: true }
  /** Permanent: the message can never be stored (terminate it). */
  | { ok: false; permanent: true; reason: string }
  /** The blob store failed: try the message again later. */
  | { ok: false; permanent: false; reason: string; err: unknown };

/**
 * Checks a blob checkpoint before its row is committed: the key is under the workload's own
 * prefix (retention deletes the objects of the rows it deletes, so a row must never point at
 * someone else's object), the object exists with the stated size, and its bytes hash to the
 * stated sha256 (read in full: a size match proves nothing about the content).
 */
export async function verifyBlobCheckpoint(
  store: BlobStore,
  workloadId: string,
  blob: BlobRef,
): Promise<BlobCheck> {
  const prefix = checkpointBlobPrefix(workloadId);
  if (!blob.key.startsWith(prefix))
    return {
      ok: false,
      permanent: true,
      reason: `blob key "${blob.key}" is outside the workload's prefix "${prefix}"`,
    };
  try {
    const head = await store.head(blob.key);
    if (head === undefined)
      return { ok: false, permanent: true, reason: `blob "${blob.key}" does not exist` };
    if (head.size !== blob.size)
      return {
        ok: false,
        permanent: true,
        reason: `blob "${blob.key}" is ${head.size} bytes, the message says ${blob.size}`,
      };
    const body = await store.get(blob.key);
    const sha256 = createHash('sha256').update(body).digest('hex');
    if (body.length !== blob.size || sha256 !== blob.sha256)
      return {
        ok: false,
        permanent: true,
        reason: `blob "${blob.key}" has sha256 ${sha256} (${body.length} bytes), the message says ${blob.sha256} (${blob.size} bytes)`,
      };
    return { ok: true };
  } catch (err) {
    if (err instanceof BlobNotFoundError)
      return { ok: false, permanent: true, reason: `blob "${blob.key}" does not exist` };
    // A key no backend accepts (a control character, a ".." segment) fails the same way every time.
    if (err instanceof InvalidBlobKeyError)
      return { ok: false, permanent: true, reason: err.message };
    return {
      ok: false,
      permanent: false,
      reason: `blob store failed reading "${blob.key}": ${(err as Error).message}`,
      err,
    };
  }
}
