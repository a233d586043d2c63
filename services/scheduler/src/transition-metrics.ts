import { WORKLOAD_STATUS } from '@niyanta/messages';
import { completions, retries, submitToStartSeconds } from '@niyanta/telemetry';
import type { WorkloadRow } from '@niyanta/db';

/** What the metrics read of a transition. */
export interface ObservedTransition {
  row: Pick<WorkloadRow, 'status' | 'type' | 'created_at' | 'started_at'>;
  from: string | null;
}

/** The outcome label of each final status. */
const OUTCOMES: Readonly<Record<string, string>> = {
  [WORKLOAD_STATUS.COMPLETED]: 'succeeded',
  [WORKLOAD_STATUS.FAILED]: 'failed',
  [WORKLOAD_STATUS.CANCELLED]: 'cancelled',
};

/** Seconds from a workload's row being made to its run's start (`started_at`, else now). */
function waitedSeconds(row: ObservedTransition['row'], nowMs: number): number {
  const startMs = row.started_at === null ? nowMs : new Date(row.started_at).getTime();
  return Math.max(0, startMs - new Date(row.created_at).getTime()) / 1000;
}

/**
 * Counts committed transitions into the workload metrics: a run starting (the time since the
 * workload was persisted; a short run reports no start of its own and goes from SCHEDULED
 * straight to its end, its start recorded from the completion), a final status (completions by
 * outcome), and a run sent back to PENDING (a retry: failure, timeout or dead worker).
 */
export function observeTransitions(
  transitions: readonly ObservedTransition[],
  nowMs = Date.now(),
): void {
  for (const { row, from } of transitions) {
    if (row.status === from) continue;
    const outcome = OUTCOMES[row.status];
    if (outcome !== undefined) {
      completions.inc({ outcome, type: row.type });
      if (from === WORKLOAD_STATUS.SCHEDULED && row.started_at !== null) {
        submitToStartSeconds.observe({ type: row.type }, waitedSeconds(row, nowMs));
      }
    } else if (row.status === WORKLOAD_STATUS.RUNNING && from === WORKLOAD_STATUS.SCHEDULED) {
      submitToStartSeconds.observe({ type: row.type }, waitedSeconds(row, nowMs));
    } else if (
      row.status === WORKLOAD_STATUS.PENDING &&
      (from === WORKLOAD_STATUS.SCHEDULED || from === WORKLOAD_STATUS.RUNNING)
    ) {
      retries.inc({ type: row.type });
    }
  }
}
