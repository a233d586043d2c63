import type { WorkloadRow } from '@niyanta/db';
import { WAIT_KINDS, WORKLOAD_STATUS } from '@niyanta/messages';
import type { CompletionV1, WaitOutcome, WaitSpec, WorkloadStatus } from '@niyanta/messages';
import type { Change } from '../change.js';
import { requestedEnd } from './completion.js';

/**
 * Durable waits: a run that calls `ctx.sleep`, `ctx.sleepUntil` or `ctx.waitForSignal` checkpoints,
 * reports the wait as its completion (`outcome: waiting`) and gives its slot back; the workload is
 * WAITING until the wait is resolved (its time came, its signal arrived, its children ended), then
 * goes back to PENDING and resumes from its checkpoint on any worker, at a new attempt.
 *
 * A wait is a `workload_waits` row keyed by (workload, seq: the run's n-th wait call). A kind is
 * defined by three things, all here or in the statements beside this module:
 * - when it ends by time: {@link wakeTime} (a sleep's end, a timeout), scanned by the leader;
 * - what resolves it otherwise: signals are matched by `statements/take-signals.ts`; any other
 *   kind calls `resolveWaits` (statements/resolve-waits.ts) with the outcome when its condition
 *   holds, then `wakeResolved` (statements/wake-waits.ts) for those workloads;
 * - what its resolution answers the run: the `outcome` jsonb, replayed as {@link WaitOutcome}.
 */

/** A `workload_waits` row. */
export interface WaitRow {
  workload_id: string;
  seq: number;
  kind: string;
  attempt: number;
  signal: string | null;
  wake_at: Date | null;
  spec: unknown;
  checkpoint_seq: number | null;
  resolved_at: Date | null;
  /** `{}` (a sleep ended), `{timedOut: true}`, `{payload}` (a signal), `{value}` (kind-specific). */
  outcome: { timedOut?: boolean; payload?: unknown; value?: unknown } | null;
}

/** When a wait ends by time: an absolute time, a delay from when it is first recorded, or never. */
export type WakeTime = { at: string } | { afterMs: number } | null;

/** When `spec` ends by time, whatever else may end it first. */
export function wakeTime(spec: WaitSpec): WakeTime {
  if (spec.kind === WAIT_KINDS.sleep) {
    if (spec.until !== undefined) return { at: spec.until };
    return { afterMs: spec.durationMs ?? 0 };
  }
  return spec.timeoutMs === undefined ? null : { afterMs: spec.timeoutMs };
}

/** The outcome of a wait that ended by its time: a sleep is simply over, anything else timed out. */
export function timedOutcome(kind: string): NonNullable<WaitRow['outcome']> {
  return kind === WAIT_KINDS.sleep ? {} : { timedOut: true };
}

/** What the wait is for, in words (workload_events, logs). */
export function describeWait(spec: Pick<WaitSpec, 'kind' | 'signal'>): string {
  switch (spec.kind) {
    case WAIT_KINDS.sleep:
      return 'sleeping';
    case WAIT_KINDS.signal:
      return `waiting for signal "${spec.signal ?? ''}"`;
    case WAIT_KINDS.children:
      return 'waiting for its children';
  }
}

/**
 * The change a `waiting` completion makes to its (current, active) row: WAITING, holding no
 * worker. A cancel or pause asked of the run outranks the wait (the wait stays recorded: a paused
 * workload that resumes replays into it again).
 */
export function waitingChange(row: WorkloadRow, c: CompletionV1 & { wait: WaitSpec }): Change {
  const why = describeWait(c.wait);
  const ran = { started: true, ...(c.startedAt === undefined ? {} : { startedAt: c.startedAt }) };
  const asked = requestedEnd(row, c.workerId, `the run started ${why}`);
  if (asked) return { ...asked, ...ran };
  return {
    id: row.id,
    from: row.status as WorkloadStatus,
    to: WORKLOAD_STATUS.WAITING,
    attempt: row.attempt,
    eventWorkerId: c.workerId,
    ...ran,
    workerId: null,
    pendingReason: null,
    reason: `${why} (wait ${c.wait.seq})`,
  };
}

/**
 * The change that wakes a WAITING workload whose current wait is resolved: back to PENDING at
 * once, to run from its checkpoint at the next attempt. `max_attempts` rises by one with it, so a
 * wait uses up none of the workload's retries.
 */
export function wakeChange(
  row: Pick<WorkloadRow, 'id' | 'attempt' | 'max_attempts'>,
  wait: Pick<WaitRow, 'seq' | 'kind' | 'signal' | 'outcome'>,
): Change {
  const how =
    wait.outcome?.timedOut === true
      ? 'timed out'
      : wait.kind === WAIT_KINDS.signal
        ? `signal "${wait.signal ?? ''}" arrived`
        : wait.kind === WAIT_KINDS.sleep
          ? 'sleep ended'
          : 'ended';
  return {
    id: row.id,
    from: WORKLOAD_STATUS.WAITING,
    to: WORKLOAD_STATUS.PENDING,
    attempt: row.attempt,
    eventWorkerId: null,
    workerId: null,
    runAfterMs: null,
    pendingReason: null,
    minMaxAttempts: row.max_attempts + 1,
    reason: `wait ${wait.seq} ${how}: resuming`,
  };
}

/** A resolved wait as a resumed run replays it (the assignment's `waits`). */
export function replayedWait(
  wait: Pick<WaitRow, 'seq' | 'kind' | 'signal' | 'outcome'>,
): WaitOutcome {
  const out: WaitOutcome = { seq: wait.seq, kind: wait.kind as WaitOutcome['kind'] };
  if (wait.signal !== null) out.signal = wait.signal;
  const o = wait.outcome ?? {};
  if (o.timedOut === true) out.timedOut = true;
  else if (wait.kind === WAIT_KINDS.signal) out.payload = o.payload ?? null;
  if (o.value !== undefined) out.value = o.value;
  return out;
}
