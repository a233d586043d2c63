import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb } from '@niyanta/db';
import { envelope, publishOne, SUBJECTS, uuidv7 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import { createTestDatabase, startNatsServer, waitFor } from '@niyanta/testing';
import { start, loadConfig } from '../src/index.js';

jest.setTimeout(30_000);

const log = createLogger('checkpoint-attempt-key-test', 'silent');

describe('checkpoint identity (workload, attempt, seq)', () => {
  it("stores a new attempt's checkpoint even when a late one of the old attempt took its seq", async () => {
    await using server = await startNatsServer();
    await using database = await createTestDatabase();
    const blobDir = await mkdtemp(join(tmpdir(), 'checkpoint-key-'));
    const nats = await connectNats({ url: server.url, name: 'attempt-key-test', log });
    const db = createDb(database.url, { max: 2 });
    const service = await start(
      loadConfig({
        NATS_URL: server.url,
        DATABASE_URL: database.url,
        LOG_LEVEL: 'silent',
        BLOB_STORE: 'fs',
        BLOB_DIR: blobDir,
      }),
      { log },
    );
    try {
      const id = uuidv7();
      await db
        .insertInto('workloads')
        .values({
          id,
          tenant: 'default',
          type: 'sleep',
          status: 'RUNNING',
          priority: 0,
          attempt: 2,
          max_attempts: 3,
          input: '{}',
          labels: '{}',
          requirements: '{}',
          worker_id: 'w-new',
        })
        .execute();
      // Attempt 1's checkpoint with seq 5, committed while attempt 2 was being placed (after it
      // read seq 4 as the latest): attempt 2 numbers its first checkpoint 5 too.
      await db
        .insertInto('checkpoints')
        .values({
          workload_id: id,
          attempt: 1,
          seq: 5,
          size: 2,
          sha256: '0'.repeat(64),
          storage: 'inline',
          data: Buffer.from('late'),
          blob_key: null,
        })
        .execute();
      await publishOne(nats.js, {
        kind: 'checkpoint',
        subject: SUBJECTS.checkpoint(id),
        message: { ...envelope(), workloadId: id, attempt: 2, workerId: 'w-new', seq: 5, data: {} },
      });
      const rows = await waitFor(
        async () => {
          const r = await db
            .selectFrom('checkpoints')
            .select(['attempt', 'seq'])
            .where('workload_id', '=', id)
            .orderBy('attempt', 'desc')
            .orderBy('seq', 'desc')
            .execute();
          return r.length === 2 ? r : undefined;
        },
        { message: "attempt 2's checkpoint to be stored next to attempt 1's" },
      );
      // Newest first: the new attempt's checkpoint is the latest, whatever the seqs.
      expect(rows).toEqual([
        { attempt: 2, seq: 5 },
        { attempt: 1, seq: 5 },
      ]);
    } finally {
      await service[Symbol.asyncDispose]();
      await db.destroy();
      await nats.close();
      await rm(blobDir, { recursive: true, force: true });
    }
  });
});
