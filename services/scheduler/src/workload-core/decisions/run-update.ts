import type { WorkloadRow } from '@niyanta/db';
import { WORKLOAD_STATUS } from '@niyanta/messages';
import type { RunUpdateV1 } from '@niyanta/messages';
import type { Change } from '../change.js';

/** A progress update with its progress (the kind statements/store-progress.ts stores). */
export type ProgressUpdate = RunUpdateV1 & { progress: NonNullable<RunUpdateV1['progress']> };

/** Why a workload went to RUNNING, for workload_events and its status event. */
export function startedReason(workerId: string): string {
  return `started on ${workerId}`;
}

/**
 * The change a `started` of the current attempt makes: SCHEDULED to RUNNING, recording when the
 * run began on the worker (the message's time, one hop before now). Undefined when the run is
 * past SCHEDULED already (a repeated `started`, or a completion that overtook it).
 */
export function startedChange(
  row: Pick<WorkloadRow, 'id' | 'status' | 'attempt'>,
  update: Pick<RunUpdateV1, 'time' | 'workerId'>,
): Change | undefined {
  if (row.status !== WORKLOAD_STATUS.SCHEDULED) return undefined;
  return {
    id: row.id,
    from: WORKLOAD_STATUS.SCHEDULED,
    to: WORKLOAD_STATUS.RUNNING,
    attempt: row.attempt,
    started: true,
    startedAt: update.time,
    reason: startedReason(update.workerId),
  };
}

/**
 * The progress of a batch that can be stored without reading its rows: the latest update of each
 * workload that has no `started` in the batch (a workload with one is read whole, so that it
 * starts first). Later updates of a workload replace earlier ones: only the latest is stored.
 */
export function latestProgress(updates: readonly RunUpdateV1[]): Map<string, ProgressUpdate> {
  const withStart = new Set<string>();
  for (const u of updates) if (u.kind !== 'progress') withStart.add(u.workloadId);
  const latest = new Map<string, ProgressUpdate>();
  for (const u of updates) {
    if (u.kind === 'progress' && u.progress && !withStart.has(u.workloadId)) {
      latest.set(u.workloadId, u as ProgressUpdate);
    }
  }
  return latest;
}
