import type { PlacementPolicy, WorkerCheck } from './framework.js';
import { selectorText } from './framework.js';

/**
 * Topology spread (hard): among running workloads with the spread's labels, the count per zone
 * (or worker) may differ by at most `maxSkew` after placing this one: a worker is refused when
 * its domain's count + 1 exceeds the smallest count by more than `maxSkew`. Only domains with an
 * eligible worker (one that passes the static filters) count; a worker without a zone cannot
 * take work spread by zone.
 */
export const topologySpreadPolicy: PlacementPolicy = {
  name: 'topologySpread',
  stage: 'dynamic',
  filters(job, fleet, state, eligible) {
    const spread = job.placement?.spread;
    if (!spread) return [];
    const counts = state.counts(spread.labels);
    const byZone = spread.topologyKey === 'zone';
    const domains: number[] = [];
    const seen = new Set<number>();
    for (let k = 0; k < eligible.length; k++) {
      const w = eligible[k]!;
      const d = byZone ? fleet.zoneOf[w]! : w;
      if (d < 0 || seen.has(d)) continue;
      seen.add(d);
      domains.push(d);
    }
    const of = byZone ? counts.byZone : counts.byWorker;
    let minAt = -1;
    let min = 0;
    const smallest = (): number => {
      if (minAt !== counts.version) {
        min = Infinity;
        for (const d of domains) if (of[d]! < min) min = of[d]!;
        minAt = counts.version;
      }
      return min;
    };
    const checks: WorkerCheck[] = [];
    if (byZone)
      checks.push({
        reason: 'no zone (spread by zone needs one)',
        ok: (w) => fleet.zoneOf[w]! >= 0,
      });
    checks.push({
      reason: `spread by ${spread.topologyKey} of ${selectorText(spread.labels)} would exceed maxSkew ${spread.maxSkew}`,
      ok(w) {
        const d = byZone ? fleet.zoneOf[w]! : w;
        return d >= 0 && of[d]! + 1 - smallest() <= spread.maxSkew;
      },
    });
    return checks;
  },
};
