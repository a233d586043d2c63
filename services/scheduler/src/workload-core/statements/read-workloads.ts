import { PREPARED } from '@niyanta/db';
import type { WorkloadRow } from '@niyanta/db';
import { sql } from 'kysely';
import type { Executor } from './executor.js';

/** Locks the rows of a batch's workloads, in id order so concurrent batches cannot deadlock. */
export async function lockWorkloads(
  trx: Executor,
  ids: readonly string[],
): Promise<Map<string, WorkloadRow>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<WorkloadRow>`${PREPARED}
    select * from workloads where id = any(${[...new Set(ids)]}::uuid[]) order by id for update`.execute(
    trx,
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/** The rows of a batch's workloads, without a lock (for changes that carry an `expect` guard). */
export async function readWorkloads(
  db: Executor,
  ids: readonly string[],
): Promise<Map<string, WorkloadRow>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<WorkloadRow>`${PREPARED}
    select * from workloads where id = any(${[...new Set(ids)]}::uuid[])`.execute(db);
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * Locks the SCHEDULED and RUNNING rows on `workerIds` or among `ids`, in ONE statement and in id
 * order, so concurrent batches cannot deadlock.
 */
export async function lockActiveRuns(
  trx: Executor,
  workerIds: readonly string[],
  ids: readonly string[],
): Promise<WorkloadRow[]> {
  const { rows } = await sql<WorkloadRow>`
    select * from workloads
    where status in ('SCHEDULED', 'RUNNING')
      and (worker_id = any(${workerIds}::text[]) or id = any(${ids}::uuid[]))
    order by id for update`.execute(trx);
  return rows;
}
