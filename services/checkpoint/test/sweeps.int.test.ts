import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointBlobKey, createFsBlobStore } from '@niyanta/blob-store';
import type { BlobStore } from '@niyanta/blob-store';
import { createDb } from '@niyanta/db';
import { uuidv7 } from '@niyanta/messages';
import { createLogger } from '@niyanta/runtime';
import type { Logger } from '@niyanta/runtime';
import { createTestDatabase } from '@niyanta/testing';
import { deleteBlobs } from '../src/blob-cleanup.js';
import { createOrphanSweep } from '../src/orphan-sweep.js';

/** A silent logger whose `warn` calls are recorded. */
function recordingLogger(): { log: Logger; warned: () => Record<string, unknown>[] } {
  const log = createLogger('checkpoint-sweeps-test', 'silent');
  const spy = jest.spyOn(log, 'warn');
  return { log, warned: () => spy.mock.calls.map((c) => c[0] as Record<string, unknown>) };
}

/** A blob store in a temp dir, and a way to put files in it that `put` would refuse. */
async function blobDir() {
  const dir = await mkdtemp(join(tmpdir(), 'checkpoint-sweeps-'));
  const blobs = createFsBlobStore({ dir });
  return {
    blobs,
    /** Writes a file under the store's root by path, bypassing the key checks of `put`. */
    async plant(key: string) {
      const path = join(dir, ...key.split('/'));
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, 'x');
    },
    async [Symbol.asyncDispose]() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const put = async (blobs: BlobStore, key: string) => {
  await blobs.put(key, Buffer.from('{"state":1}'));
  return key;
};

describe('orphaned checkpoint blob sweep', () => {
  it('deletes the other orphans when a listed key names no workload id or cannot be deleted', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 2 });
    await using store = await blobDir();
    const { log, warned } = recordingLogger();
    try {
      // Not a workload id, though 36 characters of hex digits and dashes.
      const notAnId = await put(store.blobs, `checkpoints/${'-'.repeat(36)}/1-1-00000000.json`);
      // A name the store lists but refuses to delete (a backslash), first in key order.
      const undeletable = `checkpoints/00000000-0000-7000-8000-000000000001/a\\b.json`;
      await store.plant(undeletable);
      const orphans = [
        await put(store.blobs, checkpointBlobKey('00000000-0000-7000-8000-000000000002', 1, 1)),
        await put(store.blobs, checkpointBlobKey(uuidv7(), 2, 3)),
      ];

      const sweep = createOrphanSweep({ db, blobs: store.blobs, log, graceMs: 0 });
      await sweep(); // first sighting
      await sweep(); // past the grace period
      expect(await store.blobs.list('checkpoints/')).toEqual([undeletable]);
      expect(await store.blobs.head(notAnId)).toBeUndefined();
      for (const key of orphans) expect(await store.blobs.head(key)).toBeUndefined();
      expect(warned()).toEqual([
        expect.objectContaining({
          key: undeletable,
          err: expect.objectContaining({ name: 'InvalidBlobKeyError' }),
        }),
      ]);
    } finally {
      await db.destroy();
    }
  });
});

describe('deleteBlobs (expired and pruned checkpoints)', () => {
  it('deletes every object it can when one key is refused', async () => {
    await using store = await blobDir();
    const { log, warned } = recordingLogger();
    const refused = 'checkpoints/00000000-0000-7000-8000-000000000001/a\\b.json';
    await store.plant(refused);
    const keys = [
      refused,
      await put(store.blobs, checkpointBlobKey(uuidv7(), 1, 1)),
      await put(store.blobs, checkpointBlobKey(uuidv7(), 1, 2)),
    ];
    await deleteBlobs(store.blobs, keys, log, 'expired');
    expect(await store.blobs.list('checkpoints/')).toEqual([refused]);
    expect(warned()).toEqual([expect.objectContaining({ key: refused, why: 'expired' })]);
  });
});
