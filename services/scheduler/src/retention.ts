import type { Database } from '@niyanta/db';
import { RECORD_RETENTION_DAYS } from '@niyanta/runtime';
import type { RetentionStep } from '@niyanta/runtime';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { deleteEndedWorkloads } from './workload-core/statements/delete-ended.js';

const daysAgo = (days: number) => sql<Date>`now() - ${days}::int * interval '1 day'`;

/** Deletes up to `batch` rejected submissions older than RECORD_RETENTION_DAYS. */
export async function deleteOldRejections(db: Kysely<Database>, batch: number): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    with gone as (
      delete from rejected_submissions where id in (
        select id from rejected_submissions
        where created_at < ${daysAgo(RECORD_RETENTION_DAYS)}
        limit ${batch} for update skip locked)
      returning 1
    )
    select count(*) as n from gone`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/**
 * Deletes up to `batch` dead letters last seen more than RECORD_RETENTION_DAYS ago, whichever
 * service recorded them: the scheduler is the one service that deletes dead_letters rows.
 */
export async function deleteOldDeadLetters(db: Kysely<Database>, batch: number): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    with gone as (
      delete from dead_letters where id in (
        select id from dead_letters
        where last_seen_at < ${daysAgo(RECORD_RETENTION_DAYS)}
        limit ${batch} for update skip locked)
      returning 1
    )
    select count(*) as n from gone`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/** The scheduler's retention: ended workloads (unless `days` is 0), rejections, dead letters. */
export function schedulerRetention(db: Kysely<Database>, days: number): RetentionStep[] {
  const steps: RetentionStep[] = [];
  if (days > 0)
    steps.push({ name: 'workloads', step: (batch) => deleteEndedWorkloads(db, days, batch) });
  steps.push({ name: 'rejected_submissions', step: (batch) => deleteOldRejections(db, batch) });
  steps.push({ name: 'dead_letters', step: (batch) => deleteOldDeadLetters(db, batch) });
  return steps;
}
