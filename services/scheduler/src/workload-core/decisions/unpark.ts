import { WORKLOAD_STATUS } from '@niyanta/messages';
import type { WorkloadStatus } from '@niyanta/messages';
import { holds } from '../../placement/fit.js';
import type { Offer, Resources } from '../../placement/fit.js';

/**
 * Whether a parked workload comes back to the queue when live workers of `type` offer `offers`
 * (their whole capacities): it is a parked PENDING row of that type waiting on no dependency and
 * one offer holds what it needs (the fit rule, `holds`). statements/unpark-fitting.ts carries it out.
 */
export function unparks(
  row: {
    status: WorkloadStatus;
    parked: boolean;
    deps_waiting: number;
    type: string;
    requirements: Resources;
  },
  type: string,
  offers: readonly Offer[],
): boolean {
  return (
    row.status === WORKLOAD_STATUS.PENDING &&
    row.parked &&
    row.deps_waiting === 0 &&
    row.type === type &&
    offers.some((o) => holds(o, row.requirements))
  );
}
