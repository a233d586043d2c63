import { createDb } from '@niyanta/db';
import { DEFAULT_TENANT, envelope, uuidv7 } from '@niyanta/messages';
import type { CompletionV1 } from '@niyanta/messages';
import { createTestDatabase, waitFor } from '@niyanta/testing';
import { sql } from 'kysely';
import { applySucceeded } from '../src/workload-core/statements/complete-succeeded.js';
import { insertFenceRows } from './fence-rows.js';
import type { FenceRow } from './fence-rows.js';
import { indexScans } from './index-scans.js';

describe('applySucceeded', () => {
  it('records the successes its fence lets through, with their events, and leaves out the rest', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 2 });
    try {
      const rows: Record<string, FenceRow> = {
        running: {
          status: 'RUNNING',
          attempt: 2,
          worker: 'w1',
          progress: { fraction: 0.5, message: 'half' },
          startedAnHourAgo: true,
        },
        scheduled: { status: 'SCHEDULED', attempt: 1, worker: 'w1' },
        otherAttempt: { status: 'RUNNING', attempt: 3, worker: 'w1' },
        otherWorker: { status: 'RUNNING', attempt: 1, worker: 'w2' },
        ended: { status: 'CANCELLED', attempt: 1, worker: null },
      };
      const ids = await insertFenceRows(db, rows);
      const completion = (name: string, attempt: number): CompletionV1 => ({
        ...envelope(),
        workloadId: ids[name] ?? uuidv7(),
        attempt,
        workerId: 'w1',
        outcome: 'succeeded',
        result: { name },
        startedAt: new Date().toISOString(),
      });
      const applied = await applySucceeded(db, [
        completion('running', 2),
        completion('scheduled', 1),
        completion('otherAttempt', 2),
        completion('otherWorker', 1),
        completion('ended', 1),
        completion('missing', 1),
      ]);
      // Both left RUNNING: the run that never reported its start records it as a step first.
      expect(applied.map((t) => [t.row.id, t.from, t.startStep?.from]).sort()).toEqual(
        [
          [ids.running, 'RUNNING', undefined],
          [ids.scheduled, 'RUNNING', 'SCHEDULED'],
        ].sort(),
      );
      const running = applied.find((t) => t.row.id === ids.running)!;
      expect(running.row).toMatchObject({
        status: 'COMPLETED',
        result: { name: 'running' },
        error: null,
        progress: { fraction: 1, message: 'half' },
        requested_action: null,
      });
      expect(running.row.finished_at).toBeInstanceOf(Date);
      // A run that recorded its start keeps it; one that did not takes the worker's.
      expect(Date.now() - new Date(running.row.started_at!).getTime()).toBeGreaterThan(3_000_000);
      const scheduled = applied.find((t) => t.row.id === ids.scheduled)!;
      expect(scheduled.row.progress).toEqual({ fraction: 1, message: null });
      expect(scheduled.startStep).toMatchObject({
        row: { id: ids.scheduled, status: 'RUNNING', worker_id: 'w1', finished_at: null },
        reason: 'started on w1',
        eventWorkerId: 'w1',
      });
      expect(scheduled.row.started_at).toBeInstanceOf(Date);

      const { rows: statuses } = await sql<{ id: string; status: string }>`
        select id, status from workloads`.execute(db);
      const status = Object.fromEntries(statuses.map((r) => [r.id, r.status]));
      expect(status[ids.otherAttempt!]).toBe('RUNNING');
      expect(status[ids.otherWorker!]).toBe('RUNNING');
      expect(status[ids.ended!]).toBe('CANCELLED');

      const { rows: events } = await sql<Record<string, unknown>>`
        select workload_id, from_status, to_status, attempt, reason, worker_id
        from workload_events order by workload_id, id`.execute(db);
      expect(events).toEqual(
        [
          {
            workload_id: ids.running,
            from_status: 'RUNNING',
            to_status: 'COMPLETED',
            attempt: 2,
            reason: 'succeeded',
            worker_id: 'w1',
          },
          {
            workload_id: ids.scheduled,
            from_status: 'SCHEDULED',
            to_status: 'RUNNING',
            attempt: 1,
            reason: 'started on w1',
            worker_id: 'w1',
          },
          {
            workload_id: ids.scheduled,
            from_status: 'RUNNING',
            to_status: 'COMPLETED',
            attempt: 1,
            reason: 'succeeded',
            worker_id: 'w1',
          },
        ].sort((a, b) => a.workload_id!.localeCompare(b.workload_id!)), // stable: steps in order
      );
    } finally {
      await db.destroy();
    }
  });

  it('leaves out a run whose status a concurrent transaction changed while it waited', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 3 });
    try {
      const id = uuidv7();
      await sql`insert into workloads (id, tenant, type, status, attempt, worker_id, priority,
          max_attempts, input)
        values (${id}, ${DEFAULT_TENANT}, 'noop', 'SCHEDULED', 1, 'w1', 0, 3, '{}')`.execute(db);
      const conn = await db.connection().execute(async (other) => {
        await sql`begin`.execute(other);
        // The run's start recorded meanwhile: still active, but the status the event would name
        // as left is no longer the one the statement read. The caller reads and decides again.
        await sql`update workloads set status = 'RUNNING' where id = ${id}`.execute(other);
        const applying = applySucceeded(db, [
          {
            ...envelope(),
            workloadId: id,
            attempt: 1,
            workerId: 'w1',
            outcome: 'succeeded',
          },
        ]);
        await waitFor(async () => {
          const { rows } = await sql<{ n: string }>`select count(*) as n from pg_stat_activity
            where wait_event_type = 'Lock' and datname = current_database()`.execute(db);
          return rows[0]!.n === '1';
        });
        await sql`commit`.execute(other);
        return applying;
      });
      expect(conn).toEqual([]);
      const { rows } = await sql<{ status: string }>`
        select status from workloads where id = ${id}`.execute(db);
      expect(rows).toEqual([{ status: 'RUNNING' }]);
      const { rows: events } = await sql`select * from workload_events`.execute(db);
      expect(events).toEqual([]);
    } finally {
      await db.destroy();
    }
  });

  it('finds the rows by id, never through the partial index of active runs', async () => {
    // workloads_worker_active keeps an entry for every row version that was ever active until
    // vacuum: a plan reading it visits all of them for each batch of completions.
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 1 }); // one backend: its statistics are the ones read
    try {
      const ids = Array.from({ length: 50 }, () => uuidv7());
      await sql`insert into workloads (id, tenant, type, status, attempt, worker_id, priority,
          max_attempts, input)
        select id, ${DEFAULT_TENANT}, 'noop', 'RUNNING', 1, 'w1', 0, 3, '{}'
        from unnest(${ids}::uuid[]) as id`.execute(db);
      const before = await indexScans(db, 'workloads_worker_active');
      for (const batch of [ids.slice(0, 1), ids.slice(1, 10), ids.slice(10)]) {
        const applied = await applySucceeded(
          db,
          batch.map((workloadId) => ({
            schemaVersion: 1 as const,
            id: uuidv7(),
            time: new Date().toISOString(),
            workloadId,
            attempt: 1,
            workerId: 'w1',
            outcome: 'succeeded' as const,
          })),
        );
        expect(applied).toHaveLength(batch.length);
      }
      expect(await indexScans(db, 'workloads_worker_active')).toBe(before);
    } finally {
      await db.destroy();
    }
  });
});
