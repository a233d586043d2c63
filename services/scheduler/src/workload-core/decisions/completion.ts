import type { WorkloadRow } from '@niyanta/db';
import { WORKLOAD_STATUS } from '@niyanta/messages';
import type { CompletionV1, WorkloadError, WorkloadStatus } from '@niyanta/messages';
import { REQUESTED_ACTION } from '../change.js';
import type { Change } from '../change.js';
import { formatSeconds, retryBackoffMs } from './backoff.js';
import { preemptedReason } from './preempted.js';
import { startedReason } from './run-update.js';

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
  // an outcome of a run that ran still records when it started, and its RUNNING step.
  // A short run sends no `started` at all: its completion says when it started.
  const ran: Pick<Change, 'started' | 'startedAt' | 'startStep'> =
    c.outcome === 'succeeded' || c.outcome === 'failed'
      ? {
          started: true,
          ...(c.startedAt === undefined ? {} : { startedAt: c.startedAt }),
          ...(row.status === WORKLOAD_STATUS.SCHEDULED
            ? { startStep: { reason: startedReason(c.workerId) } }
            : {}),
        }
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
    case 'waiting':
      // A wait records a wait row with its change, in its own transaction.
      throw new Error(
        `completionChange got a waiting completion of ${row.id}: decide it with decisions/wait.ts waitingChange`,
      );
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
