import { CallState, buildFleet } from '../../src/placement/fleet.js';
import type { WorkerUsage } from '../../src/placement/fleet.js';
import type {
  PendingWorkload,
  PlacementWorker,
  RunningWorkload,
  Strategy,
} from '../../src/placement/framework.js';

let seq = 0;

/** A 4-slot `sleep` worker, unless `over` says otherwise. */
export const worker = (id: string, over: Partial<PlacementWorker> = {}): PlacementWorker => ({
  id,
  capacity: { slots: 4, cpu: 4, memoryMb: 8192, gpu: 0 },
  types: ['sleep'],
  ...over,
});

/** A `sleep` workload with no requirements, unless `over` says otherwise; ids in queue order. */
export const job = (over: Partial<PendingWorkload> = {}): PendingWorkload => ({
  id: `00000000-0000-7000-8000-${String(++seq).padStart(12, '0')}`,
  type: 'sleep',
  priority: 500,
  requirements: {},
  ...over,
});

/** A fleet and call state over `workers` (worker indexes follow their sorted ids). */
export function fleetOf(
  workers: PlacementWorker[],
  running: RunningWorkload[] = [],
  usage: Map<string, WorkerUsage> = new Map(),
  strategy: Strategy = 'spread',
) {
  const fleet = buildFleet(workers, usage, running);
  return { fleet, state: new CallState(fleet, strategy) };
}
