import { sql } from 'kysely';
import type { WaitRow } from '../decisions/wait.js';
import type { Executor } from './executor.js';

/** A wait's end, as the kind that resolves it states it. */
export interface WaitResolution {
  workloadId: string;
  seq: number;
  outcome: NonNullable<WaitRow['outcome']>;
}

/**
 * Resolves waits that are still open (a resolved wait keeps its first outcome). The hook for any
 * kind whose condition is not a time or a signal (children): call it when the condition holds,
 * then `wakeResolved` for the workloads it returns.
 */
export async function resolveWaits(
  trx: Executor,
  resolutions: readonly WaitResolution[],
): Promise<string[]> {
  if (resolutions.length === 0) return [];
  const records = JSON.stringify(
    resolutions.map((r) => ({ workload_id: r.workloadId, seq: r.seq, outcome: r.outcome })),
  );
  const { rows } = await sql<{ workload_id: string }>`
    update workload_waits w set resolved_at = now(), outcome = v.outcome
    from jsonb_to_recordset(${records}::jsonb) as v(workload_id uuid, seq int, outcome jsonb)
    where w.workload_id = v.workload_id and w.seq = v.seq and w.resolved_at is null
    returning w.workload_id`.execute(trx);
  return rows.map((r) => r.workload_id);
}

/**
 * Resolves open waits whose time has come (at most `limit`, earliest first; rows another
 * transaction holds are left for the next round): a sleep is over, anything else timed out
 * (decisions/wait.ts `timedOutcome`). `ids` limits it to these workloads. Returns the workloads.
 */
export async function resolveDue(
  trx: Executor,
  limit: number,
  ids?: readonly string[],
): Promise<string[]> {
  const { rows } = await sql<{ workload_id: string }>`
    with due as (
      select workload_id, seq from workload_waits
      where resolved_at is null and wake_at <= now()
        ${ids === undefined ? sql`` : sql`and workload_id = any(${[...new Set(ids)]}::uuid[])`}
      order by wake_at
      limit ${limit}
      for update skip locked
    )
    update workload_waits w
    set resolved_at = now(),
      outcome = case when w.kind = 'sleep' then '{}'::jsonb else '{"timedOut": true}'::jsonb end
    from due
    where w.workload_id = due.workload_id and w.seq = due.seq
    returning w.workload_id`.execute(trx);
  return rows.map((r) => r.workload_id);
}
