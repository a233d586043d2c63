import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { isoTimestamp, toWorkload } from '@niyanta/db';
import { PREPARED } from '@niyanta/db';
import type { Database, WorkloadRow } from '@niyanta/db';
import {
  ACTIVE_STATUSES,
  StatusEventBatch,
  WORKLOAD_STATUS,
  publishAll,
  publishCore,
} from '@niyanta/messages';
import type {
  Outgoing,
  ProgressChangeInput,
  StatusChangeInput,
  Progress,
  WorkloadError,
  WorkloadStatus,
  WorkloadV1,
} from '@niyanta/messages';
import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import { inIdOrder } from './lock-order.js';
import type { Logger } from './logger.js';
import type { Backlog } from './backlog.js';
import type { UsageLedger } from './usage-ledger.js';

/**
 * Where committed changes go: the broker for events, the ledger for worker usage, the backlog
 * for workloads left waiting.
 */
export interface Bus {
  js: JetStreamClient;
  nc: NatsConnection;
  ledger: UsageLedger;
  backlog: Backlog;
}

/** Anything a statement can run on: the pool or a transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;

/**
 * One status change of one workload. Applied only if the row still has `from` and `attempt`
 * (callers lock the rows first, so this guard is a safety net, not the fencing itself).
 */
export interface Change {
  id: string;
  from: WorkloadStatus;
  to: WorkloadStatus;
  /** The row's attempt now (before `incrementAttempt`). */
  attempt: number;
  /** Why, for workload_events and the status event. */
  reason: string | null;
  /** The worker named in the workload_events row; default: the row's worker after the change. */
  eventWorkerId?: string | null;
  /** Placement: `attempt + 1` (the new fencing token) and this worker. */
  incrementAttempt?: boolean;
  workerId?: string | null;
  result?: unknown;
  error?: WorkloadError | null;
  progress?: Progress | null;
  pendingReason?: string | null;
  /** `null` clears run_at; a number sets it to the database's now() plus that many ms. */
  runAfterMs?: number | null;
  /** 'now' sets finished_at, 'clear' empties it. */
  finished?: 'now' | 'clear';
  /** Sets started_at once (the first run). */
  started?: boolean;
  /** When the run started by the worker's clock (kept within created_at..now); default now(). */
  startedAt?: string;
  /** Raises max_attempts to at least this. */
  minMaxAttempts?: number;
  /**
   * Sets (or with null clears) the cancel/pause asked of the run. Whatever this says, a change to
   * a status other than SCHEDULED or RUNNING clears it: a request lives only as long as its run.
   */
  requestedAction?: RequestedAction | null;
  /**
   * Applies only if the row still has these (a change computed from a row read without a lock:
   * anything it was decided on must be unchanged, or the caller reads again and decides anew).
   */
  expect?: { workerId: string | null; maxAttempts: number; requestedAction: string | null };
}

/** What a user asked of an active run, remembered until the run ends. */
export const REQUESTED_ACTION = { cancel: 'cancel', pause: 'pause' } as const;
export type RequestedAction = (typeof REQUESTED_ACTION)[keyof typeof REQUESTED_ACTION];

/** A change as applied: the row after it, and what it came from. */
export interface Transition {
  row: WorkloadRow;
  from: WorkloadStatus | null;
  reason: string | null;
  eventWorkerId: string | null;
  /** The row as the API shows it, once built (see `workloadOf`). */
  workload?: WorkloadV1;
}

/** A transition's row as the API shows it, built once (an ingest notice carries it). */
export function workloadOf(t: Transition): WorkloadV1 {
  return (t.workload ??= toWorkload(t.row));
}

// jsonb_to_recordset record: `set_*` flags say whether a column changes, because JSON null and
// "absent" must differ (a result may be null; an absent result keeps the column).
interface ChangeRecord {
  id: string;
  from_status: string;
  to_status: string;
  attempt: number;
  inc_attempt: boolean;
  set_worker: boolean;
  worker_id: string | null;
  set_result: boolean;
  result: unknown;
  set_error: boolean;
  error: unknown;
  set_progress: boolean;
  progress: unknown;
  set_pending_reason: boolean;
  pending_reason: string | null;
  run_at_mode: 'keep' | 'clear' | 'delay';
  delay_ms: number | null;
  finished: 'keep' | 'now' | 'clear';
  started: boolean;
  started_at: string | null;
  min_max_attempts: number | null;
  set_requested_action: boolean;
  requested_action: RequestedAction | null;
  reason: string | null;
  set_event_worker: boolean;
  event_worker_id: string | null;
  guard: boolean;
  exp_worker_id: string | null;
  exp_max_attempts: number | null;
  exp_requested_action: string | null;
}

function toRecord(c: Change): ChangeRecord {
  return {
    id: c.id,
    from_status: c.from,
    to_status: c.to,
    attempt: c.attempt,
    inc_attempt: c.incrementAttempt ?? false,
    set_worker: c.workerId !== undefined,
    worker_id: c.workerId ?? null,
    set_result: c.result !== undefined,
    result: c.result ?? null,
    set_error: c.error !== undefined,
    error: c.error ?? null,
    set_progress: c.progress !== undefined,
    progress: c.progress ?? null,
    set_pending_reason: c.pendingReason !== undefined,
    pending_reason: c.pendingReason ?? null,
    run_at_mode: c.runAfterMs === undefined ? 'keep' : c.runAfterMs === null ? 'clear' : 'delay',
    delay_ms: c.runAfterMs ?? null,
    finished: c.finished ?? 'keep',
    started: c.started ?? false,
    started_at: c.startedAt ?? null,
    min_max_attempts: c.minMaxAttempts ?? null,
    set_requested_action: c.requestedAction !== undefined,
    requested_action: c.requestedAction ?? null,
    reason: c.reason,
    set_event_worker: c.eventWorkerId !== undefined,
    event_worker_id: c.eventWorkerId ?? null,
    guard: c.expect !== undefined,
    exp_worker_id: c.expect?.workerId ?? null,
    exp_max_attempts: c.expect?.maxAttempts ?? null,
    exp_requested_action: c.expect?.requestedAction ?? null,
  };
}

/**
 * Applies many changes and records them in workload_events, in ONE statement (the update and the
 * events insert as one round trip); returns the transitions that applied (rows via RETURNING) for
 * `publishAfterCommit`. At most one change per workload per call. A changed row is never parked:
 * one that comes back to PENDING is the placer's to decide on again.
 */
export async function applyChanges(
  trx: Executor,
  changes: readonly Change[],
): Promise<Transition[]> {
  if (changes.length === 0) return [];
  const records = JSON.stringify(inIdOrder(changes, (c) => c.id).map(toRecord));
  const ids = changes.map((c) => c.id);
  // `w.id = any(ids)` repeats the join key as an index condition: without it the planner, whose
  // statistics lag a fast-growing table, may hash-join over a scan of every workload.
  // jsonb_to_recordset turns a JSON null in a jsonb field into the jsonb value 'null': nullif
  // stores SQL NULL instead, which the mappers read back as null either way.
  const { rows } = await sql<WorkloadRow>`${PREPARED}
    with v as (
      select * from jsonb_to_recordset(${records}::jsonb) as v(
        id uuid, from_status text, to_status text, attempt int, inc_attempt boolean,
        set_worker boolean, worker_id text, set_result boolean, result jsonb, set_error boolean,
        error jsonb, set_progress boolean, progress jsonb, set_pending_reason boolean,
        pending_reason text, run_at_mode text, delay_ms bigint, finished text, started boolean,
        started_at text, min_max_attempts int, set_requested_action boolean, requested_action text,
        reason text, set_event_worker boolean, event_worker_id text, guard boolean,
        exp_worker_id text, exp_max_attempts int, exp_requested_action text)
    ), u as (
      update workloads w set
        status = v.to_status,
        attempt = case when v.inc_attempt then w.attempt + 1 else w.attempt end,
        worker_id = case when v.set_worker then v.worker_id else w.worker_id end,
        result = case when v.set_result then nullif(v.result, 'null'::jsonb) else w.result end,
        error = case when v.set_error then nullif(v.error, 'null'::jsonb) else w.error end,
        progress = case when v.set_progress then nullif(v.progress, 'null'::jsonb) else w.progress end,
        pending_reason = case when v.set_pending_reason then v.pending_reason else w.pending_reason end,
        run_at = case v.run_at_mode
          when 'clear' then null
          when 'delay' then now() + v.delay_ms * interval '1 millisecond'
          else w.run_at end,
        finished_at = case v.finished when 'now' then now() when 'clear' then null else w.finished_at end,
        started_at = case when v.started then coalesce(
          w.started_at,
          greatest(w.created_at, least(now(), v.started_at::timestamptz)),
          now()) else w.started_at end,
        max_attempts = greatest(w.max_attempts, coalesce(v.min_max_attempts, 0)),
        requested_action = case
          when v.to_status not in ('SCHEDULED', 'RUNNING') then null
          when v.set_requested_action then v.requested_action
          else w.requested_action end,
        parked = false,
        updated_at = now()
      from v
      where w.id = v.id and w.status = v.from_status and w.attempt = v.attempt
        and w.id = any(${ids}::uuid[])
        and (not v.guard or (w.worker_id is not distinct from v.exp_worker_id
          and w.max_attempts = v.exp_max_attempts
          and w.requested_action is not distinct from v.exp_requested_action))
      returning w.*, v.from_status as event_from, v.reason as event_reason,
        case when v.set_event_worker then v.event_worker_id else w.worker_id end as event_worker
    ), e as (
      insert into workload_events (workload_id, from_status, to_status, attempt, reason, worker_id)
      select id, event_from, status, attempt, event_reason, event_worker from u
    )
    select * from u`.execute(trx);
  // The event columns stay on the row objects (every reader picks the fields it needs): copying
  // each row without them would cost more than the rest of this mapping.
  return (rows as (WorkloadRow & EventColumns)[]).map((row): Transition => ({
    row,
    from: row.event_from,
    reason: row.event_reason,
    eventWorkerId: row.event_worker,
  }));
}

/** What applyChanges' statement returns besides the row: its workload_events fields. */
interface EventColumns {
  event_from: WorkloadStatus;
  event_reason: string | null;
  event_worker: string | null;
}

/** A cancel or pause asked of the run at `attempt` of a workload at `status`. */
export interface RunRequest {
  id: string;
  status: WorkloadStatus;
  attempt: number;
  action: RequestedAction;
}

/**
 * Records a cancel or pause asked of active runs (no status change, so no workload_events row
 * and no status event: the run's end records it). Only rows still at `status` and `attempt`
 * change; returns them as updated. The active statuses are a parameter so that the plan finds
 * the rows by id, not through the partial index workloads_worker_active (see succeeded-runs.ts).
 */
export async function recordRequests(
  trx: Executor,
  requests: readonly RunRequest[],
): Promise<WorkloadRow[]> {
  if (requests.length === 0) return [];
  const { rows } = await sql<WorkloadRow>`
    update workloads w set requested_action = v.action, updated_at = now()
    from jsonb_to_recordset(${JSON.stringify(requests)}::jsonb)
      as v(id uuid, status text, attempt int, action text)
    where w.id = v.id and w.status = v.status and w.attempt = v.attempt
      and w.status = any(${ACTIVE_STATUSES}::text[])
      and w.id = any(${requests.map((r) => r.id)}::uuid[])
    returning w.*`.execute(trx);
  return rows;
}

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

/** A committed transition as a change of its transaction's status-event message. */
export function statusChange(t: Transition): StatusChangeInput {
  const row = t.row;
  return {
    workloadId: row.id,
    tenant: row.tenant,
    from: t.from,
    to: row.status as WorkloadStatus,
    attempt: row.attempt,
    reason: t.reason,
    at: isoTimestamp(row.updated_at instanceof Date ? row.updated_at : new Date(row.updated_at)),
    workerId: row.worker_id,
    progress: row.progress,
    errorCode: row.error?.code ?? null,
    pendingReason: row.pending_reason,
  };
}

/**
 * Records committed transitions in the usage ledger, then publishes their status events, plus
 * `live` messages, with core NATS
 * publishes (the events stream still stores them, without a PubAck round trip per event: they
 * are a live feed, PostgreSQL is the record), and `durable` ones acked through JetStream. A
 * failure is logged, not thrown: the change is already committed; throwing would only redeliver
 * messages whose effects are done.
 */
export async function publishAfterCommit(
  bus: Bus,
  transitions: readonly Transition[],
  log: Logger,
  extra: {
    /** Published before the status events. */
    first?: readonly Outgoing[];
    /** Transitions of the same transaction before `transitions` (earlier steps of a workload). */
    earlier?: readonly Transition[];
    /** Progress stored by the same batch: part of its status-event message. */
    progress?: readonly ProgressChangeInput[];
    live?: readonly Outgoing[];
    durable?: readonly Outgoing[];
    /**
     * Acks (or naks) the messages the batch handled: called once the core publishes are queued
     * and before the durable ones are awaited, so that the acks leave in the same socket write
     * as the events (the client writes what a turn queued at its end). Acked after an `await`,
     * they took a write of their own: at low rates, a wake-up more of this process and of the
     * broker for every batch.
     */
    settle?: () => void;
  } = {},
): Promise<void> {
  for (const t of transitions) {
    bus.ledger.record(t.row);
    // A parked workload waits for the fleet to grow, not for a slot.
    if (t.row.status === WORKLOAD_STATUS.PENDING && !t.row.parked) bus.backlog.mark();
  }
  // One status-event message for the whole transaction (one per tenant it touched).
  const events = new StatusEventBatch();
  for (const t of extra.earlier ?? []) events.status(statusChange(t));
  for (const t of transitions) events.status(statusChange(t));
  for (const p of extra.progress ?? []) events.progress(p);
  const live: Outgoing[] = [...(extra.first ?? []), ...events.messages(), ...(extra.live ?? [])];
  const durable = extra.durable ?? [];
  const failed = (err: unknown, count: number) =>
    log.warn({ err, count }, 'publishing events after commit failed; PostgreSQL has the changes');
  try {
    if (live.length > 0) publishCore(bus.nc, live);
  } catch (err) {
    failed(err, live.length);
  }
  extra.settle?.();
  if (durable.length === 0) return;
  try {
    await publishAll(bus.js, durable);
  } catch (err) {
    failed(err, durable.length);
  }
}
