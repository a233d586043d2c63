import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/** The label every workload of one bench phase carries, so its rows can be found among others. */
export const BENCH_LABEL = 'niyanta-bench';

/** How far the workloads of one phase have got. */
export interface PhaseCounts {
  /** Rows in PostgreSQL. */
  persisted: number;
  started: number;
  completed: number;
  /** FAILED or CANCELLED. */
  failedOrCancelled: number;
}

/** The timestamps of one workload on the database's clock, in ms since the epoch. */
export interface WorkloadTiming {
  id: string;
  status: string;
  attempt: number;
  createdMs: number;
  startedMs: number | null;
  finishedMs: number | null;
}

// The id bound (the primary key, UUIDv7 so time-ordered) keeps each poll to this phase's rows;
// the label filter drops anything else submitted meanwhile to a shared deployment.
const phaseFilter = (minId: string, tag: string) =>
  sql`id >= ${minId}::uuid and labels @> ${JSON.stringify({ [BENCH_LABEL]: tag })}::jsonb`;

/** Counts of a phase's rows by progress. */
export async function countPhase(
  db: Kysely<Database>,
  minId: string,
  tag: string,
): Promise<PhaseCounts> {
  const { rows } = await sql<{
    persisted: string;
    started: string;
    completed: string;
    failed: string;
  }>`select count(*) as persisted,
            count(started_at) as started,
            count(*) filter (where status = 'COMPLETED') as completed,
            count(*) filter (where status in ('FAILED', 'CANCELLED')) as failed
       from workloads where ${phaseFilter(minId, tag)}`.execute(db);
  const r = rows[0]!;
  return {
    persisted: Number(r.persisted),
    started: Number(r.started),
    completed: Number(r.completed),
    failedOrCancelled: Number(r.failed),
  };
}

/** Every row of a phase with its timestamps as epoch ms (sub-ms precision kept). */
export async function phaseTimings(
  db: Kysely<Database>,
  minId: string,
  tag: string,
): Promise<WorkloadTiming[]> {
  const { rows } = await sql<{
    id: string;
    status: string;
    attempt: number;
    created_ms: number;
    started_ms: number | null;
    finished_ms: number | null;
  }>`select id, status, attempt,
            extract(epoch from created_at) * 1000 as created_ms,
            extract(epoch from started_at) * 1000 as started_ms,
            extract(epoch from finished_at) * 1000 as finished_ms
       from workloads where ${phaseFilter(minId, tag)}`.execute(db);
  const num = (v: number | string | null): number | null => (v === null ? null : Number(v));
  return rows.map((r) => ({
    id: r.id,
    status: r.status,
    attempt: r.attempt,
    createdMs: Number(r.created_ms),
    startedMs: num(r.started_ms),
    finishedMs: num(r.finished_ms),
  }));
}
