import { CHECKPOINT_BLOB_ROOT } from '@niyanta/blob-store';
import type { BlobStore } from '@niyanta/blob-store';
import type { Database } from '@niyanta/db';
import type { Logger } from '@niyanta/runtime';
import type { Kysely } from 'kysely';
import { deleteEach } from './blob-cleanup.js';
import { unreferencedBlobKeys } from './checkpoint-store.js';

/**
 * A sweep that deletes checkpoint blobs no row refers to once they have been seen unreferenced
 * for `graceMs`: objects whose delete failed after their rows were pruned, uploads whose
 * message was discarded (a stale attempt, a failed verification), uploads of a worker that died
 * before publishing. The grace period covers an upload whose message is still on its way; the
 * first sighting is kept in memory, so a restart starts the grace period again (never shortens it).
 */
export function createOrphanSweep(deps: {
  db: Kysely<Database>;
  blobs: BlobStore;
  log: Logger;
  graceMs: number;
  now?: () => number;
}): () => Promise<void> {
  const now = deps.now ?? Date.now;
  const firstSeen = new Map<string, number>();
  return async () => {
    const orphans = await unreferencedBlobKeys(
      deps.db,
      await deps.blobs.list(CHECKPOINT_BLOB_ROOT),
    );
    const current = new Set(orphans);
    for (const key of firstSeen.keys()) if (!current.has(key)) firstSeen.delete(key);
    const at = now();
    const due: string[] = [];
    for (const key of orphans) {
      const seen = firstSeen.get(key);
      if (seen === undefined) firstSeen.set(key, at);
      else if (at - seen >= deps.graceMs) due.push(key);
    }
    if (due.length === 0) return;
    // Checked again just before deleting: a row committed since the listing keeps its object.
    const doomed = await unreferencedBlobKeys(deps.db, due);
    // A key left (logged) stays in firstSeen and is tried again by the next sweep.
    const left = new Set(await deleteEach(deps.blobs, doomed, deps.log, 'orphaned'));
    const deleted = doomed.filter((key) => !left.has(key));
    for (const key of deleted) firstSeen.delete(key);
    deps.log.info(
      { deleted: deleted.length, left: left.size },
      'orphaned checkpoint blobs deleted',
    );
  };
}
