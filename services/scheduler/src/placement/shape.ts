import { affinityPolicy } from './affinity.js';
import { antiAffinityPolicy } from './anti-affinity.js';
import { costPolicy, spotPolicy } from './cost.js';
import { holdsEach } from './fit.js';
import type {
  Fleet,
  PendingWorkload,
  PlacementPolicy,
  PlacementState,
  Strategy,
  WorkerCheck,
  WorkerScore,
} from './framework.js';
import { retryAwayPolicy } from './retry-away.js';
import { binpackScore, spreadScore, strategyOf } from './strategy.js';
import { taintsPolicy } from './taints.js';
import { topologySpreadPolicy } from './topology-spread.js';

/** Policies that depend only on the workload and the workers' fixed traits. */
export const STATIC_POLICIES: readonly PlacementPolicy[] = [
  affinityPolicy,
  taintsPolicy,
  costPolicy,
  spotPolicy,
];
/** Policies that read what runs where now (resources and the strategy are checked inline). */
export const DYNAMIC_POLICIES: readonly PlacementPolicy[] = [
  antiAffinityPolicy,
  topologySpreadPolicy,
  retryAwayPolicy,
];

/** The reason of a worker whose whole capacity is too small for a workload. */
export const TOO_SMALL_REASON = 'offers less cpu, memoryMb or gpu in all than it needs';

/**
 * Everything one placement call knows of one workload shape (type, needs and placement terms):
 * its static filters evaluated once over the workers of its type, and its dynamic filters and
 * scorers compiled. `cand[0..len)` are the workers that passed the static filters and may still
 * have a free slot: one found full is dropped (a call only adds work, so it stays full).
 */
export interface Shape {
  type: string;
  cpu: number;
  mem: number;
  gpu: number;
  strategy: Strategy;
  /** Live workers handling the type. */
  total: number;
  /** Of those, whose whole capacity holds it and that pass the static filters. */
  eligible: number;
  cand: Int32Array;
  /** The static scorers' sum, per position in `cand` (moves with it). */
  staticScore: Float64Array;
  len: number;
  /** Where the next decision starts its scan (they rotate, like kube-scheduler's). */
  cursor: number;
  /** Workers refused by a static filter (or their whole capacity), per reason. */
  staticReasons: Map<string, number>;
  staticChecks: WorkerCheck[];
  staticScorers: WorkerScore[];
  checks: WorkerCheck[];
  scorers: WorkerScore[];
  /** Per decision: refusals per dynamic check, then cpu, memoryMb, gpu. */
  tally: Int32Array;
  /**
   * Why the last decision found no worker, when no later decision of the shape in this call can
   * find one: a call only adds work, so free resources only shrink and anti-affinity counts only
   * grow. Topology spread is the exception (a smallest count that grows frees other domains),
   * so a shape with a spread term keeps it only while no count changes (`exhaustedAt`).
   */
  exhausted: string | null;
  monotone: boolean;
  /** The call state's count version when a spread shape found no worker. */
  exhaustedAt: number;
}

/**
 * The key of a workload's shape: workloads with equal keys are placed alike. Its labels of
 * `labelKeys` (those the call's anti-affinity terms select on) are part of it.
 */
export function shapeKey(
  job: PendingWorkload,
  fallback: Strategy,
  labelKeys: readonly string[] = [],
): string {
  const r = job.requirements;
  const p = job.placement;
  let labels = '';
  for (const k of labelKeys) labels += `${job.labels?.[k] ?? '\u0001'}\u0000`;
  return `${job.type}\u0000${r.cpu ?? 0}\u0000${r.memoryMb ?? 0}\u0000${r.gpu ?? 0}\u0000${strategyOf(p, fallback)}\u0000${
    p ? JSON.stringify(p) : ''
  }\u0000${job.failedOn?.join(',') ?? ''}\u0000${labels}`;
}

/**
 * The static filters and scorers of one type and one set of static terms, over the workers of
 * the type: shapes that differ only in their needs or dynamic terms share it.
 */
export interface StaticSet {
  checks: WorkerCheck[];
  scorers: WorkerScore[];
  /** Workers passing every static filter, and their static score. */
  passed: Int32Array;
  score: Float64Array;
  /** Workers refused, per reason. */
  reasons: Map<string, number>;
}

/** The key of a workload's static set: its type and static terms. */
function staticKey(job: PendingWorkload): string {
  const p = job.placement;
  if (!p) return job.type;
  return `${job.type}\u0000${JSON.stringify([p.affinity, p.tolerations, p.maxCostPerHour, p.spot])}`;
}

function staticSet(
  job: PendingWorkload,
  fleet: Fleet,
  state: PlacementState,
  typeWorkers: Int32Array,
): StaticSet {
  const checks: WorkerCheck[] = [];
  const scorers: WorkerScore[] = [];
  for (const p of STATIC_POLICIES) {
    if (p.filters) checks.push(...p.filters(job, fleet, state, []));
    const s = p.scorer?.(job, fleet, state);
    if (s) scorers.push(s);
  }
  const reasons = new Map<string, number>();
  const passed: number[] = [];
  const scores: number[] = [];
  for (let k = 0; k < typeWorkers.length; k++) {
    const w = typeWorkers[k]!;
    let refused: string | null = null;
    for (const c of checks)
      if (!c.ok(w)) {
        refused = c.reason;
        break;
      }
    if (refused !== null) {
      reasons.set(refused, (reasons.get(refused) ?? 0) + 1);
      continue;
    }
    let score = 0;
    for (const s of scorers) score += s.score(w);
    passed.push(w);
    scores.push(score);
  }
  return {
    checks,
    scorers,
    passed: Int32Array.from(passed),
    score: Float64Array.from(scores),
    reasons,
  };
}

/**
 * Compiles a workload's shape over `typeWorkers` (the fleet's workers of its type); `statics`
 * caches static sets across the shapes of one call.
 */
export function compileShape(
  job: PendingWorkload,
  fleet: Fleet,
  state: PlacementState,
  typeWorkers: Int32Array,
  statics: Map<string, StaticSet> = new Map(),
): Shape {
  const cpu = job.requirements.cpu ?? 0;
  const mem = job.requirements.memoryMb ?? 0;
  const gpu = job.requirements.gpu ?? 0;
  const key = staticKey(job);
  let set = statics.get(key);
  if (!set) statics.set(key, (set = staticSet(job, fleet, state, typeWorkers)));
  const staticChecks = set.checks;
  const staticScorers = set.scorers;
  const staticReasons = new Map(set.reasons);
  const cand: number[] = [];
  const scores: number[] = [];
  let tooSmall = 0;
  for (let k = 0; k < set.passed.length; k++) {
    const w = set.passed[k]!;
    if (!holdsEach(fleet.totalCpu[w]!, fleet.totalMem[w]!, fleet.totalGpu[w]!, cpu, mem, gpu)) {
      tooSmall++;
      continue;
    }
    cand.push(w);
    scores.push(set.score[k]!);
  }
  if (tooSmall > 0)
    staticReasons.set(TOO_SMALL_REASON, (staticReasons.get(TOO_SMALL_REASON) ?? 0) + tooSmall);
  const candArray = Int32Array.from(cand);
  const checks: WorkerCheck[] = [];
  const scorers: WorkerScore[] = [];
  for (const p of DYNAMIC_POLICIES) {
    if (p.filters) checks.push(...p.filters(job, fleet, state, candArray));
    const s = p.scorer?.(job, fleet, state);
    if (s) scorers.push(s);
  }
  return {
    type: job.type,
    cpu,
    mem,
    gpu,
    strategy: strategyOf(job.placement, state.strategy),
    total: typeWorkers.length,
    eligible: cand.length,
    cand: candArray,
    staticScore: Float64Array.from(scores),
    len: cand.length,
    cursor: 0,
    staticReasons,
    staticChecks,
    staticScorers,
    checks,
    scorers,
    tally: new Int32Array(checks.length + 3),
    exhausted: null,
    monotone: !job.placement?.spread,
    exhaustedAt: -1,
  };
}

/** The winner's total and each scorer's part, by name. */
export function scoresAt(
  shape: Shape,
  fleet: Fleet,
  w: number,
): { score: number; scores: Record<string, number> } {
  const scores: Record<string, number> = {};
  scores[shape.strategy] =
    shape.strategy === 'binpack'
      ? binpackScore(fleet, w, shape.cpu, shape.mem, shape.gpu)
      : spreadScore(fleet.usedSlots[w]!, fleet.slots[w]!);
  for (const s of [...shape.staticScorers, ...shape.scorers])
    scores[s.name] = (scores[s.name] ?? 0) + s.score(w);
  let score = 0;
  for (const v of Object.values(scores)) score += v;
  return { score, scores };
}
