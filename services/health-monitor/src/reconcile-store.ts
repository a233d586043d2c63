import { readWorkloadAttempts } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { ActiveWorkload, CurrentAttempt, WorkerRuns } from './reconcile.js';
import type { WorkerStatus } from './workers-store.js';

/**
 * The runs a stored `running` value lists. Rows are read as stored, whatever wrote them: an entry
 * that is not a `{workloadId, attempt}` pair is left out rather than failing the round.
 */
export function runsOf(running: unknown): WorkerRuns['running'] {
  if (!Array.isArray(running)) return [];
  const runs: { workloadId: string; attempt: number }[] = [];
  for (const x of running as unknown[]) {
    if (typeof x !== 'object' || x === null) continue;
    const { workloadId, attempt } = x as { workloadId?: unknown; attempt?: unknown };
    if (typeof workloadId === 'string' && Number.isSafeInteger(attempt))
      runs.push({ workloadId, attempt: attempt as number });
  }
  return runs;
}

/** Every worker with the runs its last heartbeat listed. */
export async function loadWorkerRuns(db: Kysely<Database>): Promise<WorkerRuns[]> {
  const rows = await db
    .selectFrom('workers')
    .select(['id', 'status', 'heard_at', 'running'])
    .execute();
  return rows.map((r) => ({
    id: r.id,
    status: r.status as WorkerStatus,
    // Receipt time by the database's clock, comparable with the runs' event times.
    lastHeartbeatAtMs: new Date(r.heard_at).getTime(),
    running: runsOf(r.running),
  }));
}

/**
 * SCHEDULED and RUNNING workloads (read-only: the scheduler owns the table), each with the time
 * since its last status change, from workload_events (progress updates touch updated_at).
 */
export async function loadActiveWorkloads(db: Kysely<Database>): Promise<ActiveWorkload[]> {
  const { rows } = await sql<{
    id: string;
    attempt: number;
    status: 'SCHEDULED' | 'RUNNING';
    worker_id: string;
    since_ms: number;
  }>`
    select w.id, w.attempt, w.status, w.worker_id,
      (extract(epoch from (now() - coalesce(e.at, w.updated_at))) * 1000)::float8 as since_ms
    from workloads w
    left join lateral (
      select ev.at from workload_events ev where ev.workload_id = w.id order by ev.id desc limit 1
    ) e on true
    where w.status in ('SCHEDULED', 'RUNNING') and w.worker_id is not null`.execute(db);
  return rows.map((r) => ({
    id: r.id,
    attempt: r.attempt,
    status: r.status,
    workerId: r.worker_id,
    sinceMs: r.since_ms,
  }));
}

/** The current attempt, status and worker of each of the workloads. */
export async function loadCurrentAttempts(
  db: Kysely<Database>,
  ids: readonly string[],
): Promise<Map<string, CurrentAttempt>> {
  const rows = await readWorkloadAttempts(db, ids);
  return new Map(
    rows.map((r) => [
      r.id,
      { id: r.id, attempt: r.attempt, status: r.status, workerId: r.worker_id },
    ]),
  );
}
