import { toWorkload } from '@niyanta/db';
import type { WorkloadRow } from '@niyanta/db';
import type { WorkloadStatus, WorkloadV1 } from '@niyanta/messages';

/** A change as applied: the row after it, and what it came from. */
export interface Transition {
  row: WorkloadRow;
  from: WorkloadStatus | null;
  reason: string | null;
  eventWorkerId: string | null;
  /** The row as the API shows it, once built (see `workloadOf`). */
  workload?: WorkloadV1;
}

/** A transition's row as the API shows it, built once: its status event and an ingest notice share it. */
export function workloadOf(t: Transition): WorkloadV1 {
  return (t.workload ??= toWorkload(t.row));
}
