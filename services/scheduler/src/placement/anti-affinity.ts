import type {
  Fleet,
  PendingWorkload,
  PlacementPolicy,
  PlacementState,
  RepellingTerm,
  SelectorCounts,
  WorkerCheck,
} from './framework.js';
import { matchesSelector, selectorText } from './framework.js';

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

/** The reason of a worker refused by a running workload's anti-affinity (symmetry). */
export const REPELLED_REASON =
  "a workload running there has anti-affinity against this one's labels";

/**
 * Running workloads' terms that `job`'s labels match, with weight (`preferred`) or without: the
 * sum of their weights (1 for a required one) over those present in worker `w`'s domain. The
 * list of terms grows as the call places work, so it is matched as terms appear.
 */
function repelledBy(
  job: PendingWorkload,
  state: PlacementState,
  preferred: boolean,
): (fleet: Fleet, w: number) => number {
  const terms = state.repelling;
  const matching: RepellingTerm[] = [];
  let seen = 0;
  return (fleet, w) => {
    for (; seen < terms.length; seen++) {
      const t = terms[seen]!;
      if ((t.term.weight !== undefined) === preferred && matchesSelector(job.labels, t.term.labels))
        matching.push(t);
    }
    let penalty = 0;
    for (let g = 0; g < matching.length; g++) {
      const { term, counts } = matching[g]!;
      if (inDomain(fleet, counts, term.topologyKey, w) > 0) penalty += term.weight ?? 1;
    }
    return penalty;
  };
}

/**
 * Anti-affinity: not on a worker (or in a zone) already running a workload whose labels match,
 * and, symmetrically, not where a running workload's own anti-affinity matches this one's labels
 * (as kube-scheduler's inter-pod anti-affinity). A term without `weight` is a filter; with one,
 * each matching domain loses the weight.
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
    if (state.symmetric && state.couldRepel(job.labels, false)) {
      const repelled = repelledBy(job, state, false);
      checks.push({ reason: REPELLED_REASON, ok: (w) => repelled(fleet, w) === 0 });
    }
    return checks;
  },
  scorer(job, fleet, state) {
    const terms = (job.placement?.antiAffinity ?? [])
      .filter((t) => t.weight !== undefined)
      .map((t) => ({ ...t, counts: state.counts(t.labels) }));
    const repelled =
      state.symmetric && state.couldRepel(job.labels, true) ? repelledBy(job, state, true) : null;
    if (terms.length === 0 && repelled === null) return null;
    return {
      name: 'antiAffinity',
      score(w) {
        let sum = repelled === null ? 0 : 0 - repelled(fleet, w);
        for (const t of terms)
          if (inDomain(fleet, t.counts, t.topologyKey, w) > 0) sum -= t.weight!;
        return sum;
      },
    };
  },
};
