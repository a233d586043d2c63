import type { Database } from '@niyanta/db';
import { FINAL_STATUSES } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Deletes up to `batch` workloads that ended more than `days` ago, with their workload_events,
 * durable waits and signals, in one statement. A workload with a checkpoint row left waits: the
 * checkpoint service deletes those (and their blobs) first, so that the foreign key's cascade
 * never deletes a row of the table it writes. A child whose parent has not ended waits too: its
 * row (status, result, error) is what the parent's gather and resumed assignments read. Rows
 * another transaction holds are skipped, never waited for.
 */
export async function deleteEndedWorkloads(
  db: Kysely<Database>,
  days: number,
  batch: number,
): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    with doomed as (
      select w.id from workloads w
      where w.status = any(${FINAL_STATUSES}::text[])
        and coalesce(w.finished_at, w.updated_at) < now() - ${days}::int * interval '1 day'
        and not exists (select 1 from checkpoints c where c.workload_id = w.id)
        and not exists (select 1 from workloads p
          where p.id = w.parent_id and p.status <> all(${FINAL_STATUSES}::text[]))
      limit ${batch}
      for update skip locked
    ), events as (
      delete from workload_events e using doomed where e.workload_id = doomed.id
    ), waits as (
      delete from workload_waits ww using doomed where ww.workload_id = doomed.id
    ), signals as (
      delete from workload_signals s using doomed where s.workload_id = doomed.id
    ), gone as (
      delete from workloads w using doomed where w.id = doomed.id returning w.id
    )
    select count(*) as n from gone`.execute(db);
  return Number(rows[0]?.n ?? 0);
}
