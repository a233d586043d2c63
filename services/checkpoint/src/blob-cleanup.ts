import type { BlobStore } from '@niyanta/blob-store';
import type { Logger } from '@niyanta/runtime';

/** Keys deleted in one call before falling back to one key at a time. */
const DELETE_CHUNK = 1_000;

/**
 * Deletes the checkpoint blobs, a chunk at a time; a chunk the store refuses is deleted again key
 * by key, so one key it cannot delete (a name it does not accept, an object it keeps) costs only
 * itself. Returns the keys left, each logged with its error. Never throws.
 */
export async function deleteEach(
  blobs: BlobStore,
  keys: readonly string[],
  log: Logger,
  why: string,
): Promise<string[]> {
  const left: string[] = [];
  for (let i = 0; i < keys.length; i += DELETE_CHUNK) {
    const chunk = keys.slice(i, i + DELETE_CHUNK);
    try {
      await blobs.delete(chunk);
      continue;
    } catch {
      // Which keys failed is found out one by one below.
    }
    for (const key of chunk) {
      try {
        await blobs.delete([key]);
      } catch (err) {
        left.push(key);
        log.warn({ err, key, why }, 'checkpoint blob not deleted; the orphan sweep will retry');
      }
    }
  }
  return left;
}

/**
 * Deletes the objects of deleted checkpoint rows. A failure is logged, not thrown: the rows are
 * gone already, and the orphan sweep deletes objects no row refers to.
 */
export async function deleteBlobs(
  blobs: BlobStore,
  keys: readonly string[],
  log: Logger,
  why: string,
): Promise<void> {
  if (keys.length === 0) return;
  const left = await deleteEach(blobs, keys, log, why);
  log.debug({ keys: keys.length - left.length, why }, 'checkpoint blobs deleted');
}
