import type { JsMsg } from '@nats-io/jetstream';
import { PREPARED } from '@niyanta/db';
import type { Database, WorkloadRow } from '@niyanta/db';
import { SUBJECTS, WORKLOAD_STATUS, enveloped, isActiveStatus } from '@niyanta/messages';
import type {
  CompletionV1,
  EventV1,
  Outgoing,
  RunUpdateV1,
  WorkloadError,
  WorkloadStatus,
} from '@niyanta/messages';
import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import { TransientError } from '@niyanta/runtime';
import type { DeadLetters, DecodedMessage } from '@niyanta/runtime';
import { formatSeconds, retryBackoffMs } from './backoff.js';
import type { Logger } from './logger.js';
import {
  REQUESTED_ACTION,
  applyChanges,
  lockWorkloads,
  publishAfterCommit,
  readWorkloads,
} from './transitions.js';
import type { Bus, Change, Transition } from './transitions.js';
import { applyProgress } from './progress-updates.js';
import type { ProgressUpdate } from './progress-updates.js';
import { applySucceeded } from './succeeded-runs.js';
import { preemptedReason } from './placement/preemption-pass.js';

/** A message from an attempt newer than the row's, or of a workload with no row, waits this long. */
export const NEWER_ATTEMPT_NAK_MS = 500;

/**
 * Deliveries after which a message from an attempt newer than the row's, or of a workload with no
 * row, is given up (about 10 s of waiting). Assignments are published only once their placement
 * has committed, so no run this scheduler assigned sends one: it comes from elsewhere (a forged or
 * corrupted message, a database restored to an earlier point), and would otherwise come back
 * forever.
 */
export const NEWER_ATTEMPT_MAX_DELIVERIES = 20;

const COMPLETIONS_PREFIX = SUBJECTS.completionsAll.slice(0, -1); // 'niyanta.completions.'

/** What to do with a run update or completion, given the workload's row. */
export const FENCE = {
  apply: 'apply',
  discard: 'discard',
  later: 'later',
  /** A newer attempt (or no row) that waited too long: no placement of it has committed. */
  abandon: 'abandon',
} as const;
export type Fence = (typeof FENCE)[keyof typeof FENCE];

/**
 * Fencing by attempt: only the current attempt of an active run may record anything. A newer
 * attempt than the row's, or no row at all, is no run this scheduler assigned (assignments go out
 * after their placement commits): it is tried later, up to {@link NEWER_ATTEMPT_MAX_DELIVERIES}
 * deliveries (`deliveries` counts this one), then abandoned.
 */
export function fence(
  row: Pick<WorkloadRow, 'attempt' | 'status' | 'worker_id'> | undefined,
  msg: { attempt: number; workerId: string },
  deliveries = 1,
): Fence {
  if (!row || msg.attempt > row.attempt) {
    return deliveries >= NEWER_ATTEMPT_MAX_DELIVERIES ? FENCE.abandon : FENCE.later;
  }
  if (msg.attempt < row.attempt) return FENCE.discard;
  if (!isActiveStatus(row.status)) return FENCE.discard;
  // The same attempt from another worker: not the run that attempt was placed on. Only the
  // recorded worker counts.
  if (row.worker_id !== null && row.worker_id !== msg.workerId) return FENCE.discard;
  return FENCE.apply;
}

type Decoded<T> = DecodedMessage<T>;

function logDiscard(
  log: Logger,
  value: { workloadId: string; attempt: number },
  row: WorkloadRow | undefined,
  what: string,
): void {
  log.info(
    {
      workloadId: value.workloadId,
      attempt: value.attempt,
      currentAttempt: row?.attempt ?? null,
      status: row?.status ?? null,
    },
    `${what} discarded: not the current attempt of an active run`,
  );
}

function logAbandon(
  log: Logger,
  value: { workloadId: string; attempt: number },
  row: WorkloadRow | undefined,
  deliveries: number,
  what: string,
): void {
  log.warn(
    {
      workloadId: value.workloadId,
      attempt: value.attempt,
      currentAttempt: row?.attempt ?? null,
      deliveries,
    },
    `${what} of attempt ${value.attempt} discarded after ${deliveries} deliveries: the workload is at attempt ${row?.attempt ?? 'none'} and no placement of that attempt has committed`,
  );
}

/** The live `progress` event of a stored progress update (no workload_events row). */
function progressEvent(u: ProgressUpdate): Outgoing<'event'> {
  return {
    kind: 'event',
    subject: SUBJECTS.events(u.workloadId),
    message: enveloped<EventV1>({
      workloadId: u.workloadId,
      kind: 'progress',
      attempt: u.attempt,
      progress: u.progress,
    }),
  };
}

/**
 * `scheduler-run`: `started` moves SCHEDULED to RUNNING; `progress` stores the latest progress
 * of each workload with ONE update and publishes a progress event (no workload_events row).
 */
export function createRunUpdateHandler(
  deps: Bus & {
    db: Kysely<Database>;
    log: Logger;
    /** Where messages that do not decode go. */
    deadLetters: DeadLetters;
  },
) {
  const { db, log } = deps;
  return async (msgs: JsMsg[]): Promise<void> => {
    const decoded = await deps.deadLetters.decode('runUpdate', msgs);
    const acks: JsMsg[] = [];
    const later: JsMsg[] = [];
    const progressEvents: Outgoing<'event'>[] = [];
    // Progress first, unread: the latest of each workload, stored where its fence holds. Its
    // messages and the earlier ones of the same attempt are done; the rest are fenced below. A
    // workload with a `started` in the batch goes there whole, so that it starts first.
    const withStart = new Set<string>();
    for (const { value } of decoded) if (value.kind !== 'progress') withStart.add(value.workloadId);
    const latest = new Map<string, ProgressUpdate>();
    for (const { value } of decoded) {
      if (value.kind === 'progress' && value.progress && !withStart.has(value.workloadId)) {
        latest.set(value.workloadId, value as ProgressUpdate);
      }
    }
    const stored = await applyProgress(db, [...latest.values()]);
    const updates: typeof decoded = [];
    for (const d of decoded) {
      const u = latest.get(d.value.workloadId);
      const done =
        d.value.kind === 'progress' &&
        stored.has(d.value.workloadId) &&
        d.value.attempt === u!.attempt &&
        d.value.workerId === u!.workerId;
      if (done) acks.push(d.msg);
      else updates.push(d);
    }
    for (const id of stored) progressEvents.push(progressEvent(latest.get(id)!));
    // What is left is fenced on locked rows; with nothing left, no transaction.
    const fenceTheRest = async (trx: Transaction<Database>): Promise<Transition[]> => {
      const rows = await lockWorkloads(
        trx,
        updates.map((u) => u.value.workloadId),
      );
      const starts: Change[] = [];
      const started = new Set<string>();
      const progress = new Map<string, RunUpdateV1>();
      for (const { msg, value } of updates) {
        const row = rows.get(value.workloadId);
        const verdict = fence(row, value, msg.info.deliveryCount);
        if (verdict === FENCE.later) {
          later.push(msg);
          continue;
        }
        acks.push(msg);
        if (verdict === FENCE.abandon) {
          logAbandon(log, value, row, msg.info.deliveryCount, `run update ${value.kind}`);
          continue;
        }
        if (verdict === FENCE.discard) {
          logDiscard(log, value, row, `run update ${value.kind}`);
          continue;
        }
        if (value.kind === 'started') {
          if (row!.status === WORKLOAD_STATUS.SCHEDULED && !started.has(row!.id)) {
            started.add(row!.id);
            starts.push({
              id: row!.id,
              from: WORKLOAD_STATUS.SCHEDULED,
              to: WORKLOAD_STATUS.RUNNING,
              attempt: row!.attempt,
              started: true,
              // The message's time is when the run began on the worker, one hop before now.
              startedAt: value.time,
              reason: `started on ${value.workerId}`,
            });
          }
        } else if (value.progress) {
          progress.set(value.workloadId, value); // the latest in the batch wins
        }
      }
      const applied = await applyChanges(trx, starts);
      if (progress.size > 0) {
        const records = [...progress.values()].map((u) => ({
          id: u.workloadId,
          progress: u.progress,
        }));
        await sql`${PREPARED}
          update workloads w set progress = v.progress, updated_at = now()
          from jsonb_to_recordset(${JSON.stringify(records)}::jsonb) as v(id uuid, progress jsonb)
          where w.id = v.id and w.id = any(${records.map((r) => r.id)}::uuid[])`.execute(trx);
        for (const u of progress.values()) progressEvents.push(progressEvent(u as ProgressUpdate));
      }
      return applied;
    };
    const transitions = updates.length === 0 ? [] : await db.transaction().execute(fenceTheRest);
    await publishAfterCommit(deps, transitions, log, {
      live: progressEvents,
      settle: () => {
        for (const m of acks) m.ack();
        for (const m of later) m.nak(NEWER_ATTEMPT_NAK_MS);
      },
    });
  };
}

const UNKNOWN_ERROR: WorkloadError = {
  message: 'the run failed without an error',
  code: 'UNKNOWN',
  retryable: false,
};

/**
 * The end a cancel or pause asked of the run imposes when the run stops without its own final
 * word (`why` says how it stopped); undefined when nothing was asked.
 */
export function requestedEnd(
  row: Pick<WorkloadRow, 'id' | 'status' | 'attempt' | 'requested_action'>,
  eventWorkerId: string | null,
  why: string,
): Change | undefined {
  const base = {
    id: row.id,
    from: row.status as WorkloadStatus,
    attempt: row.attempt,
    eventWorkerId,
  };
  switch (row.requested_action) {
    case REQUESTED_ACTION.cancel:
      return {
        ...base,
        to: WORKLOAD_STATUS.CANCELLED,
        finished: 'now',
        pendingReason: null,
        reason: `cancelled as requested (${why})`,
      };
    case REQUESTED_ACTION.pause:
      return {
        ...base,
        to: WORKLOAD_STATUS.PAUSED,
        workerId: null,
        pendingReason: null,
        reason: `paused as requested (${why})`,
      };
    default:
      return undefined;
  }
}

/**
 * The change for a run that stopped without reporting an outcome (its worker died, or its
 * attempt was lost): a requested cancel or pause, else back to PENDING to run again at once.
 */
export function unfinishedRunChange(row: WorkloadRow, why: string): Change {
  return (
    requestedEnd(row, row.worker_id, why) ?? {
      id: row.id,
      from: row.status as WorkloadStatus,
      to: WORKLOAD_STATUS.PENDING,
      attempt: row.attempt,
      workerId: null,
      eventWorkerId: row.worker_id,
      pendingReason: why,
      runAfterMs: null,
      reason: why,
    }
  );
}

/** The change a completion makes to its (current, active) row. */
export function completionChange(
  row: WorkloadRow,
  c: CompletionV1,
  backoff: { baseMs: number; maxMs: number; random?: () => number },
): Change {
  const base = {
    id: row.id,
    from: row.status as WorkloadStatus,
    attempt: row.attempt,
    eventWorkerId: c.workerId,
  };
  // A quick run's completion can overtake its `started` (they travel on different streams):
  // an outcome of a run that ran still records when it started.
  // A short run sends no `started` at all: its completion says when it started.
  const ran =
    c.outcome === 'succeeded' || c.outcome === 'failed'
      ? { started: true, ...(c.startedAt === undefined ? {} : { startedAt: c.startedAt }) }
      : {};
  switch (c.outcome) {
    case 'succeeded':
      return {
        ...base,
        ...ran,
        to: WORKLOAD_STATUS.COMPLETED,
        result: c.result ?? null,
        // An earlier attempt's failure is history (workload_events keeps it), not this outcome.
        error: null,
        progress: { fraction: 1, message: row.progress?.message ?? null },
        finished: 'now',
        reason: 'succeeded',
      };
    case 'failed': {
      const error = c.error ?? UNKNOWN_ERROR;
      if (error.retryable && row.attempt < row.max_attempts) {
        // Asked to cancel or pause: no retry.
        const asked = requestedEnd(
          row,
          c.workerId,
          `attempt ${row.attempt} failed: ${error.message}`,
        );
        if (asked) return { ...asked, ...ran, error };
        const delayMs = retryBackoffMs(row.attempt, backoff.baseMs, backoff.maxMs, backoff.random);
        const why = `retrying in ${formatSeconds(delayMs)} after attempt ${row.attempt} failed: ${error.message}`;
        return {
          ...base,
          ...ran,
          to: WORKLOAD_STATUS.PENDING,
          error,
          workerId: null,
          runAfterMs: delayMs,
          pendingReason: why,
          reason: why,
        };
      }
      const why = error.retryable
        ? `failed after ${row.attempt} of ${row.max_attempts} attempts: ${error.message}`
        : `failed (not retryable): ${error.message}`;
      return { ...base, ...ran, to: WORKLOAD_STATUS.FAILED, error, finished: 'now', reason: why };
    }
    case 'cancelled':
      return { ...base, to: WORKLOAD_STATUS.CANCELLED, finished: 'now', reason: 'cancelled' };
    case 'paused':
      // A cancel asked after the pause outranks it: a paused run is not finished.
      if (row.requested_action === REQUESTED_ACTION.cancel) {
        return requestedEnd(row, c.workerId, 'the run paused')!;
      }
      return { ...base, to: WORKLOAD_STATUS.PAUSED, workerId: null, reason: 'paused' };
    case 'released': {
      // Preemption hook: a run handed back for a preemptor says so (placement/preemption-pass.ts).
      const why = preemptedReason(row) ?? `released by ${c.workerId}`;
      return (
        requestedEnd(row, c.workerId, why) ?? {
          ...base,
          to: WORKLOAD_STATUS.PENDING,
          workerId: null,
          runAfterMs: null,
          pendingReason: preemptedReason(row),
          reason: why,
        }
      );
    }
  }
}

/** Rounds of reading and applying one batch of completions while its rows keep changing. */
const COMPLETION_ROUNDS = 5;

/**
 * `scheduler-complete`: applies each completion of the current attempt of an active run, all in
 * ONE statement (update plus events) and without a transaction: the rows are read without a lock
 * and each change applies only if everything it was decided on is unchanged (optimistic); the
 * few whose rows changed meanwhile are read and decided again. Successes go first, unread, in a
 * statement whose condition is their fence (`applySucceeded`); only what it leaves out is read.
 * Then publishes and acks.
 */
export function createCompletionHandler(
  deps: Bus & {
    db: Kysely<Database>;
    log: Logger;
    backoff: { baseMs: number; maxMs: number };
    onApplied: (retryDelaysMs: number[]) => void;
    /** Where messages that do not decode go. */
    deadLetters: DeadLetters;
  },
) {
  const { db, log } = deps;
  return async (msgs: JsMsg[]): Promise<void> => {
    // A batch message is acked once all its completions are settled, or redelivered whole when
    // one must wait (those already applied are then discarded by the fence).
    const acks = new Set<JsMsg>();
    const later = new Set<JsMsg>();
    const retryDelays: number[] = [];
    const transitions: Transition[] = [];
    let todo = await decodeCompletions(msgs, deps.deadLetters);
    // Most completions are successes, decided by the fence alone: recorded without a read.
    const succeeded = new Map<string, Decoded<CompletionV1>>();
    for (const item of todo) {
      if (item.value.outcome === 'succeeded' && !succeeded.has(item.value.workloadId))
        succeeded.set(item.value.workloadId, item);
    }
    if (succeeded.size > 0) {
      const applied = await applySucceeded(
        db,
        [...succeeded.values()].map((item) => item.value),
      );
      transitions.push(...applied);
      const done = new Set(applied.map((t) => t.row.id));
      todo = todo.filter((item) => {
        if (!done.has(item.value.workloadId) || succeeded.get(item.value.workloadId) !== item)
          return true;
        acks.add(item.msg);
        return false;
      });
    }
    for (let round = 1; todo.length > 0; round++) {
      if (round > COMPLETION_ROUNDS) {
        // Contention, not a fault of the messages: retried with backoff, never dead-lettered.
        throw new TransientError(
          `${todo.length} completion(s) not applied after ${COMPLETION_ROUNDS} rounds: their workloads kept changing; redelivering`,
        );
      }
      const rows = await readWorkloads(
        db,
        todo.map((c) => c.value.workloadId),
      );
      const decided = new Map<string, { change: Change; item: Decoded<CompletionV1> }>();
      for (const item of todo) {
        const { msg, value } = item;
        const row = rows.get(value.workloadId);
        const verdict = decided.has(value.workloadId)
          ? FENCE.discard
          : fence(row, value, msg.info.deliveryCount);
        if (verdict === FENCE.later) {
          later.add(msg);
          continue;
        }
        acks.add(msg);
        if (verdict === FENCE.abandon) {
          logAbandon(log, value, row, msg.info.deliveryCount, `completion ${value.outcome}`);
          continue;
        }
        if (verdict === FENCE.discard) {
          logDiscard(log, value, row, `completion ${value.outcome}`);
          continue;
        }
        const change: Change = {
          ...completionChange(row!, value, deps.backoff),
          expect: {
            workerId: row!.worker_id,
            maxAttempts: row!.max_attempts,
            requestedAction: row!.requested_action,
          },
        };
        decided.set(value.workloadId, { change, item });
      }
      const applied = await applyChanges(
        db,
        [...decided.values()].map((d) => d.change),
      );
      transitions.push(...applied);
      for (const t of applied) {
        const delay = decided.get(t.row.id)!.change.runAfterMs;
        if (typeof delay === 'number') retryDelays.push(delay);
      }
      const done = new Set(applied.map((t) => t.row.id));
      todo = [...decided.values()].filter((d) => !done.has(d.change.id)).map((d) => d.item);
    }
    await publishAfterCommit(deps, transitions, log, {
      settle: () => {
        for (const m of acks) if (!later.has(m)) m.ack();
        for (const m of later) m.nak(NEWER_ATTEMPT_NAK_MS);
      },
    });
    if (transitions.length > 0) deps.onApplied(retryDelays);
  };
}

/**
 * Decodes single completions (`niyanta.complete.<workloadId>`) and batches of one worker
 * (`niyanta.completions.<workerId>`) into one list; an invalid message is a dead letter.
 */
async function decodeCompletions(
  msgs: readonly JsMsg[],
  deadLetters: DeadLetters,
): Promise<Decoded<CompletionV1>[]> {
  const singles: JsMsg[] = [];
  const batches: JsMsg[] = [];
  for (const m of msgs) (m.subject.startsWith(COMPLETIONS_PREFIX) ? batches : singles).push(m);
  const out: Decoded<CompletionV1>[] =
    singles.length === 0 ? [] : await deadLetters.decode('completion', singles);
  if (batches.length === 0) return out;
  for (const { msg, value } of await deadLetters.decode('completionBatch', batches)) {
    for (const item of value.completions) {
      out.push({
        msg,
        value: {
          schemaVersion: 1,
          id: value.id,
          time: value.time,
          workerId: value.workerId,
          ...item,
        },
      });
    }
  }
  return out;
}

/** Why a dead worker's runs went back to PENDING (names the worker, for workload_events). */
export function deadWorkerReason(workerId: string, reason: string | undefined): string {
  return reason
    ? `worker ${workerId} declared dead: ${reason}`
    : `worker ${workerId} declared dead`;
}

/** Why a lost attempt went back to PENDING. */
export function lostAttemptReason(
  workerId: string,
  attempt: number,
  reason: string | undefined,
): string {
  return `attempt ${attempt} lost on worker ${workerId}${reason ? `: ${reason}` : ''}`;
}

/**
 * `scheduler-worker-dead`. A worker declared dead: it is forgotten by placement, its pending
 * assignments and consumers are removed from the broker, and its SCHEDULED and RUNNING workloads
 * go back to PENDING (or to CANCELLED/PAUSED when that was asked of them). A message with `attempts` (reconciliation) leaves the worker alone and
 * sends back just those attempts, if each is still the current one on that worker. Their attempt
 * rises at the next placement, which fences the old runs out.
 */
export function createWorkerDeadHandler(
  deps: Bus & {
    db: Kysely<Database>;
    /** Removes a dead worker's assignments and consumers from the broker. */
    forgetWorker: (workerId: string) => Promise<unknown>;
    log: Logger;
    onDead: (workerId: string) => void;
    onRequeued: () => void;
    /** Where messages that do not decode go. */
    deadLetters: DeadLetters;
  },
) {
  const { db, log } = deps;
  return async (msgs: JsMsg[]): Promise<void> => {
    const decoded = await deps.deadLetters.decode('workerDead', msgs);
    const deadReasons = new Map<string, string | undefined>();
    const lost = new Map<string, { attempt: number; workerId: string; reason?: string }>();
    for (const { value } of decoded) {
      if (value.attempts === undefined) {
        deadReasons.set(value.workerId, value.reason);
        continue;
      }
      for (const a of value.attempts) {
        lost.set(a.workloadId, {
          attempt: a.attempt,
          workerId: value.workerId,
          reason: value.reason,
        });
      }
    }
    const deadIds = [...deadReasons.keys()];
    // Before the transaction: a placement that still had the worker in view may have assigned it
    // more work; the query below then sends that back too.
    for (const id of deadIds) deps.onDead(id);
    for (const id of deadIds) await deps.forgetWorker(id);
    const transitions = await db.transaction().execute(async (trx) => {
      if (deadIds.length === 0 && lost.size === 0) return [];
      // One locking statement, in id order, so concurrent batches cannot deadlock.
      const { rows } = await sql<WorkloadRow>`
        select * from workloads
        where status in ('SCHEDULED', 'RUNNING')
          and (worker_id = any(${deadIds}::text[]) or id = any(${[...lost.keys()]}::uuid[]))
        order by id for update`.execute(trx);
      const changes: Change[] = [];
      for (const row of rows) {
        let why: string;
        if (row.worker_id !== null && deadReasons.has(row.worker_id)) {
          why = deadWorkerReason(row.worker_id, deadReasons.get(row.worker_id));
        } else {
          const l = lost.get(row.id);
          // Only the attempt that was found lost, on the worker it was found lost on.
          if (!l || l.attempt !== row.attempt || l.workerId !== row.worker_id) continue;
          why = lostAttemptReason(l.workerId, l.attempt, l.reason);
        }
        changes.push(unfinishedRunChange(row, why));
      }
      return applyChanges(trx, changes);
    });
    await publishAfterCommit(deps, transitions, log, {
      settle: () => {
        for (const d of decoded) d.msg.ack();
      },
    });
    if (deadIds.length > 0 || lost.size > 0) {
      log.info(
        { deadWorkers: deadIds, lostAttempts: lost.size, requeued: transitions.length },
        'runs of dead workers and lost attempts back to PENDING (or ended as requested)',
      );
    }
    if (transitions.length > 0) deps.onRequeued();
  };
}
