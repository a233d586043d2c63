import type { Fleet, PlacementPolicy, SelectorCounts, WorkerCheck } from './framework.js';
import { selectorText } from './framework.js';

/** Running workloads matching `counts`' selector in worker `w`'s topology domain. */
export function inDomain(
  fleet: Fleet,
  counts: SelectorCounts,
  topologyKey: 'worker' | 'zone',
  w: number,
): number {
  const zone = fleet.zoneOf[w]!;
  // A worker without a zone shares it with no other: its domain is itself.
  return topologyKey === 'zone' && zone >= 0 ? counts.byZone[zone]! : counts.byWorker[w]!;
}

/**
 * Anti-affinity: not on a worker (or in a zone) already running a workload whose labels match.
 * A term without `weight` is a filter; with one, each matching domain loses the weight.
 */
export const antiAffinityPolicy: PlacementPolicy = {
  name: 'antiAffinity',
  stage: 'dynamic',
  filters(job, fleet, state) {
    const checks: WorkerCheck[] = [];
    for (const term of job.placement?.antiAffinity ?? []) {
      if (term.weight !== undefined) continue;
      const counts = state.counts(term.labels);
      const where = term.topologyKey === 'zone' ? 'in its zone' : 'on it';
      checks.push({
        reason: `a workload matching anti-affinity ${selectorText(term.labels)} runs ${where}`,
        ok: (w) => inDomain(fleet, counts, term.topologyKey, w) === 0,
      });
    }
    return checks;
  },
  scorer(job, fleet, state) {
    const terms = (job.placement?.antiAffinity ?? [])
      .filter((t) => t.weight !== undefined)
      .map((t) => ({ ...t, counts: state.counts(t.labels) }));
    if (terms.length === 0) return null;
    return {
      name: 'antiAffinity',
      score(w) {
        let sum = 0;
        for (const t of terms)
          if (inDomain(fleet, t.counts, t.topologyKey, w) > 0) sum -= t.weight!;
        return sum;
      },
    };
  },
};
