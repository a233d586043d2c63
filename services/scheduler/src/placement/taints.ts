import type { PlacementPolicy, Taint, WorkerCheck } from './framework.js';

/** One `placement.tolerations` entry. */
export interface Toleration {
  key: string;
  operator?: 'Equal' | 'Exists';
  value?: string;
  effect?: Taint['effect'];
}

/** Score a worker loses per PreferNoSchedule taint the workload does not tolerate. */
export const PREFER_NO_SCHEDULE_PENALTY = 50;

/** Whether one of `tolerations` tolerates `taint`: same key, same value (Equal) or any (Exists), same effect if given. */
export function tolerates(tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some(
    (t) =>
      t.key === taint.key &&
      ((t.operator ?? 'Equal') === 'Exists' || (t.value ?? '') === (taint.value ?? '')) &&
      (t.effect === undefined || t.effect === taint.effect),
  );
}

/** `key=value:Effect`, or `key:Effect`. */
export function taintText(taint: Taint): string {
  return `${taint.key}${taint.value === undefined ? '' : `=${taint.value}`}:${taint.effect}`;
}

/**
 * Taints and tolerations: a NoSchedule taint keeps off every workload that does not tolerate it
 * (one filter per such taint in the fleet, so the reason names it); each PreferNoSchedule taint
 * it does not tolerate lowers a worker's score by {@link PREFER_NO_SCHEDULE_PENALTY}.
 */
export const taintsPolicy: PlacementPolicy = {
  name: 'taints',
  stage: 'static',
  filters(job, fleet) {
    const tolerations = job.placement?.tolerations ?? [];
    const refused = new Set<string>();
    for (const worker of fleet.workers) {
      for (const taint of worker.taints ?? []) {
        if (taint.effect === 'NoSchedule' && !tolerates(tolerations, taint))
          refused.add(taintText(taint));
      }
    }
    const checks: WorkerCheck[] = [];
    for (const text of refused) {
      checks.push({
        reason: `taint ${text} not tolerated`,
        ok: (w) => !(fleet.workers[w]!.taints ?? []).some((t) => taintText(t) === text),
      });
    }
    return checks;
  },
  scorer(job, fleet) {
    if (!fleet.workers.some((w) => (w.taints ?? []).some((t) => t.effect === 'PreferNoSchedule')))
      return null;
    const tolerations = job.placement?.tolerations ?? [];
    return {
      name: 'taints',
      score(w) {
        let penalty = 0;
        for (const t of fleet.workers[w]!.taints ?? []) {
          if (t.effect === 'PreferNoSchedule' && !tolerates(tolerations, t))
            penalty += PREFER_NO_SCHEDULE_PENALTY;
        }
        return 0 - penalty; // +0, not -0, when none applies
      },
    };
  },
};
