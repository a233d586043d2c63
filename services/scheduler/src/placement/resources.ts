import type { Fleet, PlacementPolicy, WorkerCheck } from './framework.js';

/** Reasons of the resource filters, which the engine also counts when it checks them inline. */
export const RESOURCE_REASONS = {
  slot: 'no free slot',
  cpu: 'not enough free cpu',
  memoryMb: 'not enough free memoryMb',
  gpu: 'not enough free gpu',
} as const;

/**
 * Resources now: a free slot, and free cpu, memoryMb and gpu that hold what the workload needs
 * (`holds` in fit.ts). GPUs come in quarters: two workloads of 0.5 share one. The engine checks
 * these inline (typed arrays, no call per worker); this form is for explanations and tests.
 */
export function resourceChecks(
  fleet: Fleet,
  needs: { cpu: number; memoryMb: number; gpu: number },
): WorkerCheck[] {
  return [
    { reason: RESOURCE_REASONS.slot, ok: (w) => fleet.usedSlots[w]! < fleet.slots[w]! },
    { reason: RESOURCE_REASONS.cpu, ok: (w) => needs.cpu <= fleet.freeCpu[w]! },
    { reason: RESOURCE_REASONS.memoryMb, ok: (w) => needs.memoryMb <= fleet.freeMem[w]! },
    { reason: RESOURCE_REASONS.gpu, ok: (w) => needs.gpu <= fleet.freeGpu[w]! },
  ];
}

export const resourcesPolicy: PlacementPolicy = {
  name: 'resources',
  stage: 'dynamic',
  filters: (job, fleet) =>
    resourceChecks(fleet, {
      cpu: job.requirements.cpu ?? 0,
      memoryMb: job.requirements.memoryMb ?? 0,
      gpu: job.requirements.gpu ?? 0,
    }),
};
