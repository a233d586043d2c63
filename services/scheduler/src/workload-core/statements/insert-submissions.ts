import { PREPARED } from '@niyanta/db';
import type { PlacementExplanation, WorkloadRow } from '@niyanta/db';
import { WORKLOAD_STATUS } from '@niyanta/messages';
import type { SubmissionV1 } from '@niyanta/messages';
import { sql } from 'kysely';
import { placedReason } from '../decisions/placement.js';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_PRIORITY } from '../decisions/submission.js';
import type { Transition } from '../transition.js';
import type { Executor } from './executor.js';

/** A submission to insert, with what ingest decided for it. */
export interface NewWorkload {
  tenant: string;
  submission: SubmissionV1;
  traceParent: string | null;
  /** The worker it was placed on at ingest (inserted SCHEDULED at attempt 1), if any. */
  workerId: string | undefined;
  /** With `workerId`: the decision that placed it (worker and scores), for placement_explanations. */
  placedExplanation?: PlacementExplanation | undefined;
  /** Why it waits, if left PENDING (null: it only waits its turn). */
  pendingReason: string | null;
  /** No live worker could ever take it: inserted parked, out of the queue. */
  parked: boolean;
  /** A child spawned by a run (`ctx.spawn`): its parent and call index. */
  parent?: { id: string; index: number; detached: boolean };
}

/** The columns of a spawned child (null and false for a submitted workload). */
function childColumns(parent: NewWorkload['parent']) {
  return {
    parent_id: parent?.id ?? null,
    child_index: parent?.index ?? null,
    detached: parent?.detached ?? false,
  };
}

/** What one insert did. */
export interface Inserted {
  /** Inserted PENDING (placement takes them later). */
  pending: Transition[];
  /** Placed at ingest: their `submitted` step (row as it was PENDING) and their placement. */
  submitted: Transition[];
  placed: Transition[];
}

/**
 * Inserts submissions (SCHEDULED at attempt 1 where placed) with their events, in ONE statement,
 * idempotent on id and on (tenant, idempotency_key); returns what was inserted, as transitions.
 */
export async function insertSubmissions(
  db: Executor,
  items: readonly NewWorkload[],
): Promise<Inserted> {
  const out: Inserted = { pending: [], submitted: [], placed: [] };
  if (items.length === 0) return out;
  const records = JSON.stringify(
    items.map(({ tenant, submission: s, traceParent, workerId, pendingReason, parked }, i) => ({
      id: s.id,
      tenant,
      type: s.type,
      status: workerId ? WORKLOAD_STATUS.SCHEDULED : WORKLOAD_STATUS.PENDING,
      // Placed at ingest: attempt 1 is the fencing token its assignment carries.
      attempt: workerId ? 1 : 0,
      worker_id: workerId ?? null,
      priority: s.priority ?? DEFAULT_PRIORITY,
      max_attempts: s.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      input: s.input ?? null,
      labels: s.labels ?? {},
      requirements: s.requirements ?? {},
      placement: s.placement ?? null,
      run_at: s.runAt ?? null,
      // GET shows why it is not placed (placement replaces it).
      pending_reason: pendingReason,
      parked,
      timeout_seconds: s.timeoutSeconds ?? null,
      idempotency_key: s.idempotencyKey ?? null,
      trace_parent: traceParent,
      submitted_by: s.submittedBy ?? null,
      secrets: s.secrets ?? [],
      // Fair share hook: concurrency keys and preemptibility (placement/concurrency.ts).
      concurrency_key: s.concurrencyKey ?? null,
      concurrency_limit: s.concurrencyKey === undefined ? null : (s.concurrencyLimit ?? 1),
      ordered: s.ordered ?? false,
      preemptible: s.preemptible ?? true,
      // A spawned child: its parent, call index and whether a cancel of the parent leaves it.
      ...childColumns(items[i]!.parent),
    })),
  );
  const explained = JSON.stringify(
    items.flatMap(({ submission: s, workerId, placedExplanation }) =>
      workerId && placedExplanation ? [{ id: s.id, explanation: placedExplanation }] : [],
    ),
  );
  // The `placed` event's reason is `placedReason`'s, said in SQL so that the events come from the
  // inserted rows alone; test/workload-core-statements.int.test.ts holds the two to agree.
  // One jsonb parameter for the whole batch (a JSON null input stays the jsonb null), and the
  // events inserted by the same statement: `submitted`, then `placed` for workloads placed at
  // ingest. ON CONFLICT without a target skips duplicates of the id and of (tenant, key) alike,
  // and a skipped row gets no events. A workload placed at ingest gets its placement_explanations
  // row (the decision that placed it) from the same statement, as the placer records its own.
  const { rows } = await sql<WorkloadRow>`${PREPARED}
    with ins as (
      insert into workloads (id, tenant, type, status, attempt, worker_id, priority,
        max_attempts, input, labels, requirements, placement, run_at, pending_reason, parked,
        timeout_seconds, idempotency_key, trace_parent, submitted_by, secrets,
        concurrency_key, concurrency_limit, ordered, preemptible, parent_id, child_index, detached)
      select v.id, v.tenant, v.type, v.status, v.attempt, v.worker_id, v.priority,
        v.max_attempts, coalesce(v.input, 'null'::jsonb), v.labels, v.requirements,
        v.placement, v.run_at, v.pending_reason, v.parked, v.timeout_seconds, v.idempotency_key, v.trace_parent,
        v.submitted_by, coalesce(v.secrets, '{}'),
        v.concurrency_key, v.concurrency_limit, v.ordered, v.preemptible,
        v.parent_id, v.child_index, v.detached
      from jsonb_to_recordset(${records}::jsonb) as v(
        id uuid, tenant text, type text, status text, attempt int, worker_id text,
        priority int, max_attempts int, input jsonb, labels jsonb, requirements jsonb,
        placement jsonb, run_at timestamptz, pending_reason text, parked boolean, timeout_seconds int,
        idempotency_key text, trace_parent text, submitted_by text, secrets text[],
        concurrency_key text, concurrency_limit int, ordered boolean, preemptible boolean,
        parent_id uuid, child_index int, detached boolean)
      on conflict do nothing
      returning *
    ), e as (
      insert into workload_events (workload_id, from_status, to_status, attempt, reason, worker_id)
      select ins.id, s.from_status, s.to_status, s.attempt, s.reason, s.worker_id
      from ins cross join lateral (values
        (1, null, 'PENDING', 0, 'submitted', null),
        (2, 'PENDING', ins.status, ins.attempt, 'placed on ' || ins.worker_id, ins.worker_id)
      ) as s(step, from_status, to_status, attempt, reason, worker_id)
      where s.step = 1 or ins.status = 'SCHEDULED'
      order by ins.id, s.step
    ), x as (
      insert into placement_explanations (workload_id, status, evaluated_at, pending_reason,
        worker_id, explanation)
      select ins.id, 'PLACED', now(), null, ins.worker_id, p.explanation
      from ins join jsonb_to_recordset(${explained}::jsonb) as p(id uuid, explanation jsonb)
        on p.id = ins.id
      where ins.status = 'SCHEDULED'
      on conflict (workload_id) do update set status = excluded.status,
        evaluated_at = excluded.evaluated_at, pending_reason = excluded.pending_reason,
        worker_id = excluded.worker_id, explanation = excluded.explanation
    )
    select * from ins`.execute(db);
  for (const row of rows) {
    if (row.status !== WORKLOAD_STATUS.SCHEDULED) {
      out.pending.push({ row, from: null, reason: 'submitted', eventWorkerId: null });
      continue;
    }
    // Two transitions in one row version: submitted (PENDING), then placed.
    out.submitted.push({
      row: { ...row, status: WORKLOAD_STATUS.PENDING, attempt: 0, worker_id: null },
      from: null,
      reason: 'submitted',
      eventWorkerId: null,
    });
    out.placed.push({
      row,
      from: WORKLOAD_STATUS.PENDING,
      reason: placedReason(row.worker_id!),
      eventWorkerId: row.worker_id,
    });
  }
  return out;
}
