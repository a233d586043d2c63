import { WORKLOAD_STATUS } from '@niyanta/messages';
import type { Change } from '../change.js';

/** One placement decided by the placer: a PENDING workload at `attempt`, for `workerId`. */
export interface Placement {
  id: string;
  attempt: number;
  workerId: string;
}

/** Why a workload went to SCHEDULED, for workload_events and its status event. */
export function placedReason(workerId: string): string {
  return `placed on ${workerId}`;
}

/**
 * The change a placement makes: SCHEDULED on the worker at attempt + 1 (the fencing token its
 * assignment carries), no pending reason; statements/place.ts carries it out for many at once.
 */
export function placementChange(p: Placement): Change {
  return {
    id: p.id,
    from: WORKLOAD_STATUS.PENDING,
    to: WORKLOAD_STATUS.SCHEDULED,
    attempt: p.attempt,
    incrementAttempt: true,
    workerId: p.workerId,
    pendingReason: null,
    reason: placedReason(p.workerId),
  };
}
