import type { Database, PlacementExplanation } from '@niyanta/db';
import { sql } from 'kysely';
import type { Transaction } from 'kysely';
import type { Placement, Unplaced } from './place-workloads.js';

/** The evaluation recorded of a placement: its worker, with its score and each scorer's part. */
export function placedExplanation(p: Placement): PlacementExplanation {
  return {
    workers: [
      {
        workerId: p.workerId,
        feasible: true,
        reasons: [],
        score: p.score ?? 0,
        scores: p.scores ?? {},
      },
    ],
    reasonCounts: {},
    evaluated: 1,
  };
}

/**
 * Records the latest evaluation of each workload a cycle decided on, one row per workload in
 * one statement: the decision that placed it (its worker and scores), or why it waits (with the
 * per-worker explanation when the cycle made one). A row stays bounded: the explanation holds at
 * most the 50 best workers and counts per reason.
 */
export async function recordExplanations(
  trx: Transaction<Database>,
  placements: readonly Placement[],
  unplaced: readonly Unplaced[],
): Promise<void> {
  const rows: {
    id: string;
    status: 'PENDING' | 'PLACED';
    reason: string | null;
    worker: string | null;
    explanation: PlacementExplanation;
  }[] = [];
  for (const p of placements) {
    rows.push({
      id: p.workloadId,
      status: 'PLACED',
      reason: null,
      worker: p.workerId,
      explanation: placedExplanation(p),
    });
  }
  for (const u of unplaced) {
    if (!u.explanation) continue;
    rows.push({
      id: u.workloadId,
      status: 'PENDING',
      reason: u.reason,
      worker: null,
      explanation: u.explanation,
    });
  }
  if (rows.length === 0) return;
  await sql`
    insert into placement_explanations as e
      (workload_id, status, evaluated_at, pending_reason, worker_id, explanation)
    select v.id, v.status, now(), v.reason, v.worker, v.explanation
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      as v(id uuid, status text, reason text, worker text, explanation jsonb)
    where exists (select 1 from workloads w where w.id = v.id)
    on conflict (workload_id) do update set status = excluded.status,
      evaluated_at = excluded.evaluated_at, pending_reason = excluded.pending_reason,
      worker_id = excluded.worker_id, explanation = excluded.explanation`.execute(trx);
}

/**
 * The workers earlier attempts of `ids` ran on and left (a failure, a release, the worker's
 * death): a retry prefers another one. One statement through `workload_events_workload`.
 */
export async function failedWorkers(
  trx: Transaction<Database>,
  ids: readonly string[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (ids.length === 0) return out;
  const { rows } = await sql<{ id: string; workers: string[] }>`
    select workload_id as id, array_agg(distinct worker_id) as workers
    from workload_events
    where workload_id = any(${ids}::uuid[]) and to_status = 'PENDING'
      and from_status in ('SCHEDULED', 'RUNNING') and worker_id is not null
    group by workload_id`.execute(trx);
  for (const r of rows) out.set(r.id, r.workers);
  return out;
}
