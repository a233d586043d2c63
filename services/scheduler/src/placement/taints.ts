import type { Fleet, PlacementPolicy, Taint, WorkerCheck } from './framework.js';

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

/** The fleet's taints, worked out once per placement call. */
interface FleetTaints {
  /** Each distinct NoSchedule taint, by its text. */
  noSchedule: Map<string, Taint>;
  /** Per worker, the texts of its NoSchedule taints. */
  noScheduleOf: string[][];
  anyPreferNoSchedule: boolean;
}

const fleetTaints = new WeakMap<Fleet, FleetTaints>();

function taintsOf(fleet: Fleet): FleetTaints {
  let known = fleetTaints.get(fleet);
  if (known) return known;
  known = { noSchedule: new Map(), noScheduleOf: [], anyPreferNoSchedule: false };
  for (const worker of fleet.workers) {
    const texts: string[] = [];
    for (const taint of worker.taints ?? []) {
      if (taint.effect !== 'NoSchedule') {
        known.anyPreferNoSchedule = true;
        continue;
      }
      const text = taintText(taint);
      texts.push(text);
      known.noSchedule.set(text, taint);
    }
    known.noScheduleOf.push(texts);
  }
  fleetTaints.set(fleet, known);
  return known;
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
    const known = taintsOf(fleet);
    const checks: WorkerCheck[] = [];
    for (const [text, taint] of known.noSchedule) {
      if (tolerates(tolerations, taint)) continue;
      checks.push({
        reason: `taint ${text} not tolerated`,
        ok: (w) => !known.noScheduleOf[w]!.includes(text),
      });
    }
    return checks;
  },
  scorer(job, fleet) {
    if (!taintsOf(fleet).anyPreferNoSchedule) return null;
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
