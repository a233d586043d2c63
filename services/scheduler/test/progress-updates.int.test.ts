import { createDb } from '@niyanta/db';
import { envelope, uuidv7 } from '@niyanta/messages';
import { createTestDatabase } from '@niyanta/testing';
import { sql } from 'kysely';
import type { ProgressUpdate } from '../src/workload-core/decisions/run-update.js';
import { applyProgress } from '../src/workload-core/statements/store-progress.js';
import { insertFenceRows } from './fence-rows.js';
import type { FenceRow } from './fence-rows.js';

describe('applyProgress', () => {
  it('stores the progress its fence lets through and leaves out the rest untouched', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 2 });
    try {
      const rows: Record<string, FenceRow> = {
        running: { status: 'RUNNING', attempt: 2, worker: 'w1' },
        scheduled: { status: 'SCHEDULED', attempt: 1, worker: 'w1' },
        otherAttempt: { status: 'RUNNING', attempt: 3, worker: 'w1' },
        otherWorker: { status: 'RUNNING', attempt: 1, worker: 'w2' },
        ended: { status: 'COMPLETED', attempt: 1, worker: 'w1' },
      };
      const ids = await insertFenceRows(db, rows);
      const update = (name: string, attempt: number): ProgressUpdate => ({
        ...envelope(),
        workloadId: ids[name] ?? uuidv7(),
        attempt,
        workerId: 'w1',
        kind: 'progress',
        progress: { fraction: 0.25, message: name },
      });
      const stored = await applyProgress(db, [
        update('running', 2),
        update('scheduled', 1),
        update('otherAttempt', 2),
        update('otherWorker', 1),
        update('ended', 1),
        update('missing', 1),
      ]);
      expect([...stored].sort()).toEqual([ids.running, ids.scheduled].sort());

      const { rows: after } = await sql<{ id: string; progress: unknown; fresh: boolean }>`
        select id, progress, updated_at > now() - interval '1 minute' as fresh
        from workloads`.execute(db);
      const byId = new Map(after.map((r) => [r.id, r]));
      for (const name of Object.keys(rows)) {
        const applied = name === 'running' || name === 'scheduled';
        expect({ name, ...byId.get(ids[name]!) }).toEqual({
          name,
          id: ids[name],
          progress: applied ? { fraction: 0.25, message: name } : null,
          fresh: applied,
        });
      }
    } finally {
      await db.destroy();
    }
  });
});
