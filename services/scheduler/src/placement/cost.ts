import type { PlacementPolicy, WorkerCheck } from './framework.js';

/** What a spot worker's score loses (spot: allow) or gains (spot: prefer). */
export const SPOT_PENALTY = 50;

/**
 * Cost: `maxCostPerHour` keeps off workers that cost more (a worker that does not say costs
 * nothing); among otherwise equal workers the cheaper wins: the score loses at most 1, the
 * worker's cost relative to the dearest in the fleet, less than one slot's worth of load.
 */
export const costPolicy: PlacementPolicy = {
  name: 'cost',
  stage: 'static',
  filters(job, fleet) {
    const max = job.placement?.maxCostPerHour;
    if (max === undefined) return [];
    return [
      {
        reason: `costs more per hour than maxCostPerHour ${max}`,
        ok: (w) => fleet.cost[w]! <= max,
      },
    ];
  },
  scorer(_job, fleet) {
    if (fleet.maxCost <= 0) return null;
    return { name: 'cost', score: (w) => -fleet.cost[w]! / fleet.maxCost };
  },
};

/**
 * Spot workers: `spot: "avoid"` keeps off them; `allow` (the default) gives them a
 * PreferNoSchedule-like penalty, {@link SPOT_PENALTY}; `prefer` the same as a bonus.
 */
export const spotPolicy: PlacementPolicy = {
  name: 'spot',
  stage: 'static',
  filters(job, fleet) {
    if (job.placement?.spot !== 'avoid') return [];
    const check: WorkerCheck = {
      reason: 'spot worker (spot: avoid)',
      ok: (w) => fleet.workers[w]!.spot !== true,
    };
    return [check];
  },
  scorer(job, fleet) {
    if (!fleet.workers.some((w) => w.spot === true)) return null;
    const sign = job.placement?.spot === 'prefer' ? 1 : -1;
    return {
      name: 'spot',
      score: (w) => (fleet.workers[w]!.spot === true ? sign * SPOT_PENALTY : 0),
    };
  },
};
