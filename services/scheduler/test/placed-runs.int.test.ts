import { createDb } from '@niyanta/db';
import { DEFAULT_TENANT, uuidv7 } from '@niyanta/messages';
import { createTestDatabase } from '@niyanta/testing';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '@niyanta/db';
import { applyPlacements } from '../src/workload-core/statements/place.js';
import { indexScans } from './index-scans.js';

async function insertWorkload(
  db: Kysely<Database>,
  fields: { status: string; attempt: number; reason?: string },
): Promise<string> {
  const id = uuidv7();
  await sql`insert into workloads (id, tenant, type, status, attempt, worker_id, priority,
      max_attempts, input, pending_reason, progress)
    values (${id}, ${DEFAULT_TENANT}, 'noop', ${fields.status}, ${fields.attempt},
      ${fields.status === 'RUNNING' ? 'w0' : null}, 0, 3, '{}', ${fields.reason ?? null},
      '{"fraction": 0.25, "message": "kept"}'::jsonb)`.execute(db);
  return id;
}

describe('applyPlacements', () => {
  it('places PENDING workloads at their attempt, with events, and leaves out the rest', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 2 });
    try {
      const fresh = await insertWorkload(db, { status: 'PENDING', attempt: 0, reason: 'no slot' });
      const retried = await insertWorkload(db, { status: 'PENDING', attempt: 2 });
      const moved = await insertWorkload(db, { status: 'PENDING', attempt: 3 });
      const running = await insertWorkload(db, { status: 'RUNNING', attempt: 1 });

      const applied = await applyPlacements(db, [
        { id: fresh, attempt: 0, workerId: 'w1' },
        { id: retried, attempt: 2, workerId: 'w2' },
        { id: moved, attempt: 2, workerId: 'w1' }, // its attempt changed meanwhile
        { id: running, attempt: 1, workerId: 'w1' },
        { id: uuidv7(), attempt: 0, workerId: 'w1' },
      ]);

      expect(
        applied.map((t) => [t.row.id, t.from, t.row.status, t.row.attempt, t.reason]).sort(),
      ).toEqual(
        [
          [fresh, 'PENDING', 'SCHEDULED', 1, 'placed on w1'],
          [retried, 'PENDING', 'SCHEDULED', 3, 'placed on w2'],
        ].sort(),
      );
      const placedFresh = applied.find((t) => t.row.id === fresh)!;
      expect(placedFresh.eventWorkerId).toBe('w1');
      expect(placedFresh.row).toMatchObject({
        worker_id: 'w1',
        pending_reason: null,
        progress: { fraction: 0.25, message: 'kept' },
        requested_action: null,
        max_attempts: 3,
      });

      const { rows } = await sql<{ id: string; status: string; attempt: number }>`
        select id, status, attempt from workloads where id in (${moved}, ${running})`.execute(db);
      expect(Object.fromEntries(rows.map((r) => [r.id, [r.status, r.attempt]]))).toEqual({
        [moved]: ['PENDING', 3],
        [running]: ['RUNNING', 1],
      });
      const { rows: events } = await sql<Record<string, unknown>>`
        select workload_id, from_status, to_status, attempt, reason, worker_id
        from workload_events order by reason`.execute(db);
      expect(events).toEqual([
        {
          workload_id: fresh,
          from_status: 'PENDING',
          to_status: 'SCHEDULED',
          attempt: 1,
          reason: 'placed on w1',
          worker_id: 'w1',
        },
        {
          workload_id: retried,
          from_status: 'PENDING',
          to_status: 'SCHEDULED',
          attempt: 3,
          reason: 'placed on w2',
          worker_id: 'w2',
        },
      ]);
    } finally {
      await db.destroy();
    }
  });

  it('finds the rows by id, never through the partial index of the queue', async () => {
    // workloads_queue keeps an entry for every PENDING row version until vacuum: a plan reading
    // it would visit every workload placed since then for each placement cycle.
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 1 }); // one backend: its statistics are the ones read
    try {
      const ids: string[] = [];
      for (let i = 0; i < 30; i += 1)
        ids.push(await insertWorkload(db, { status: 'PENDING', attempt: 0 }));
      const before = await indexScans(db, 'workloads_queue');
      for (const batch of [ids.slice(0, 1), ids.slice(1, 10), ids.slice(10)]) {
        const applied = await applyPlacements(
          db,
          batch.map((id) => ({ id, attempt: 0, workerId: 'w1' })),
        );
        expect(applied).toHaveLength(batch.length);
      }
      expect(await indexScans(db, 'workloads_queue')).toBe(before);
    } finally {
      await db.destroy();
    }
  });
});
