import type { Fleet, PlacementPolicy, Strategy } from './framework.js';

/** Spread: 100 on an idle worker, 0 on a full one, by used slots relative to slots. */
export function spreadScore(usedSlots: number, slots: number): number {
  return 100 * (1 - usedSlots / slots);
}

/**
 * Bin-pack: 100 × the worker's dominant share once this workload is on it (the largest of used
 * slots, cpu, memoryMb and gpu relative to its capacity), so the most loaded worker fills first.
 */
export function binpackScore(
  fleet: Fleet,
  w: number,
  cpu: number,
  mem: number,
  gpu: number,
): number {
  let share = (fleet.usedSlots[w]! + 1) / fleet.slots[w]!;
  const tc = fleet.totalCpu[w]!;
  const tm = fleet.totalMem[w]!;
  const tg = fleet.totalGpu[w]!;
  if (tc > 0) share = Math.max(share, (tc - fleet.freeCpu[w]! + cpu) / tc);
  if (tm > 0) share = Math.max(share, (tm - fleet.freeMem[w]! + mem) / tm);
  if (tg > 0) share = Math.max(share, (tg - fleet.freeGpu[w]! + gpu) / tg);
  return 100 * share;
}

/** The strategy a workload is placed by: its own `placement.strategy`, else the scheduler's. */
export function strategyOf(
  placement: { strategy?: Strategy } | null | undefined,
  fallback: Strategy,
): Strategy {
  return placement?.strategy ?? fallback;
}

/**
 * Spread (least loaded first, the default) or bin-pack (most loaded first by the dominant
 * resource, so idle workers can be scaled in). The engine inlines the same functions.
 */
export const strategyPolicy: PlacementPolicy = {
  name: 'strategy',
  stage: 'dynamic',
  scorer(job, fleet, state) {
    const strategy = strategyOf(job.placement, state.strategy);
    const cpu = job.requirements.cpu ?? 0;
    const mem = job.requirements.memoryMb ?? 0;
    const gpu = job.requirements.gpu ?? 0;
    return strategy === 'binpack'
      ? { name: 'binpack', score: (w) => binpackScore(fleet, w, cpu, mem, gpu) }
      : { name: 'spread', score: (w) => spreadScore(fleet.usedSlots[w]!, fleet.slots[w]!) };
  },
};
