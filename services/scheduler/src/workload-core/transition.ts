import { toWorkload } from '@niyanta/db';
import type { WorkloadRow } from '@niyanta/db';
import { WORKLOAD_STATUS } from '@niyanta/messages';
import type { WorkloadStatus, WorkloadV1 } from '@niyanta/messages';

/** A change as applied: the row after it, and what it came from. */
export interface Transition {
  row: WorkloadRow;
  from: WorkloadStatus | null;
  reason: string | null;
  eventWorkerId: string | null;
  /**
   * The SCHEDULED → RUNNING step the same row version recorded first (a run that ended before
   * it reported its start); this transition then comes from RUNNING.
   */
  startStep?: Transition;
  /** The row as the API shows it, once built (see `workloadOf`). */
  workload?: WorkloadV1;
}

/** A transition's row as the API shows it, built once: its status event and an ingest notice share it. */
export function workloadOf(t: Transition): WorkloadV1 {
  return (t.workload ??= toWorkload(t.row));
}

/**
 * The transition of a row whose change passed through RUNNING (`startReason` given): its start
 * step (the row as it was while RUNNING on `workerId`), then its own step from RUNNING.
 */
export function withStartStep(
  row: WorkloadRow,
  from: WorkloadStatus | null,
  reason: string | null,
  workerId: string | null,
  startReason: string | null,
): Transition {
  if (startReason === null) return { row, from, reason, eventWorkerId: workerId };
  const running: WorkloadRow = {
    ...row,
    status: WORKLOAD_STATUS.RUNNING,
    worker_id: workerId,
    error: null,
    result: null,
    pending_reason: null,
    finished_at: null,
  };
  return {
    row,
    from: WORKLOAD_STATUS.RUNNING,
    reason,
    eventWorkerId: workerId,
    startStep: { row: running, from, reason: startReason, eventWorkerId: workerId },
  };
}

/** Transitions in the order they happened, each start step before its transition. */
export function inStepOrder(transitions: readonly Transition[]): readonly Transition[] {
  if (!transitions.some((t) => t.startStep !== undefined)) return transitions;
  return transitions.flatMap((t) => (t.startStep === undefined ? [t] : [t.startStep, t]));
}
