import type { PlacementPolicy, PlacementWorker, WorkerCheck } from './framework.js';
import { workerLabel } from './framework.js';

/** One `placement.affinity` term. */
export interface AffinityTerm {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: readonly string[];
  weight?: number;
}

/** Whether a worker's labels (with the built-ins `zone` and `worker`) satisfy a term. */
export function matchesTerm(worker: PlacementWorker, term: AffinityTerm): boolean {
  const value = workerLabel(worker, term.key);
  switch (term.operator) {
    case 'In':
      return value !== undefined && (term.values ?? []).includes(value);
    case 'NotIn':
      return value === undefined || !(term.values ?? []).includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
  }
}

/** Why a worker fails a required term, in plain words. */
export function termReason(term: AffinityTerm): string {
  const values = (term.values ?? []).join(', ');
  switch (term.operator) {
    case 'In':
      return `label ${term.key} is not one of [${values}] (required affinity)`;
    case 'NotIn':
      return `label ${term.key} is one of [${values}] (required affinity)`;
    case 'Exists':
      return `no label ${term.key} (required affinity)`;
    case 'DoesNotExist':
      return `has label ${term.key} (required affinity)`;
  }
}

/**
 * Label selectors: a term without `weight` is required (a filter), one with a weight is a
 * preference that adds its weight to the score of each worker it matches.
 */
export const affinityPolicy: PlacementPolicy = {
  name: 'affinity',
  stage: 'static',
  filters(job, fleet) {
    const checks: WorkerCheck[] = [];
    for (const term of job.placement?.affinity ?? []) {
      if (term.weight !== undefined) continue;
      checks.push({ reason: termReason(term), ok: (w) => matchesTerm(fleet.workers[w]!, term) });
    }
    return checks;
  },
  scorer(job, fleet) {
    const preferred = (job.placement?.affinity ?? []).filter((t) => t.weight !== undefined);
    if (preferred.length === 0) return null;
    return {
      name: 'affinity',
      score(w) {
        let sum = 0;
        for (const t of preferred) if (matchesTerm(fleet.workers[w]!, t)) sum += t.weight!;
        return sum;
      },
    };
  },
};
