import { WORKLOAD_STATUS } from '@niyanta/messages';
import { completions, retries, submitToStartSeconds } from '@niyanta/telemetry';
import type { WorkloadRow } from '@niyanta/db';

/** What the metrics read of a transition. */
export interface ObservedTransition {
  row: Pick<WorkloadRow, 'status' | 'type' | 'created_at'>;
  from: string | null;
}

/** The outcome label of each final status. */
const OUTCOMES: Readonly<Record<string, string>> = {
  [WORKLOAD_STATUS.COMPLETED]: 'succeeded',
  [WORKLOAD_STATUS.FAILED]: 'failed',
  [WORKLOAD_STATUS.CANCELLED]: 'cancelled',
};

/**
 * Counts committed transitions into the workload metrics: a run starting (SCHEDULED → RUNNING:
 * the time since the workload was persisted), a final status (completions by outcome), and a run
 * sent back to PENDING (a retry: failure, timeout or dead worker).
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
    } else if (row.status === WORKLOAD_STATUS.RUNNING && from === WORKLOAD_STATUS.SCHEDULED) {
      const waitedMs = nowMs - new Date(row.created_at).getTime();
      submitToStartSeconds.observe({ type: row.type }, Math.max(0, waitedMs) / 1000);
    } else if (
      row.status === WORKLOAD_STATUS.PENDING &&
      (from === WORKLOAD_STATUS.SCHEDULED || from === WORKLOAD_STATUS.RUNNING)
    ) {
      retries.inc({ type: row.type });
    }
  }
}
