import type { Placement as PlacementTerms, Taint } from '@niyanta/messages';
import type { Resources } from './fit.js';

export type { PlacementTerms, Taint };

/** Placement strategies: `spread` fills the least loaded worker first, `binpack` the most loaded. */
export const STRATEGIES = ['spread', 'binpack'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** A PENDING workload to place. */
export interface PendingWorkload {
  id: string;
  type: string;
  priority: number;
  requirements: Resources;
  /** Its labels: what other workloads' anti-affinity and spread terms match. */
  labels?: Readonly<Record<string, string>>;
  /** Its placement terms (docs/scheduling.md). */
  placement?: PlacementTerms | null;
  /** Workers its earlier attempts failed on: a retry prefers another one (retry-away). */
  failedOn?: readonly string[];
}

/** A live worker (ACTIVE and heard from recently): the caller filters out the others. */
export interface PlacementWorker {
  id: string;
  capacity: { slots: number; cpu: number; memoryMb: number; gpu: number };
  types: readonly string[];
  labels?: Readonly<Record<string, string>>;
  zone?: string | null;
  taints?: readonly Taint[];
  costPerHour?: number | null;
  spot?: boolean;
}

/** One anti-affinity term of a workload's placement. */
export type AntiAffinityTerm = NonNullable<PlacementTerms['antiAffinity']>[number];

/** A SCHEDULED or RUNNING workload on a worker, for anti-affinity and spread. */
export interface RunningWorkload {
  workerId: string;
  labels: Readonly<Record<string, string>>;
  /** Its own anti-affinity terms: they keep matching workloads off its worker or zone too. */
  antiAffinity?: readonly AntiAffinityTerm[];
}

/**
 * The live workers of one placement call, as parallel arrays indexed by worker (sorted by id),
 * with what is used on each; the used and free arrays change as the call places work.
 */
export interface Fleet {
  readonly size: number;
  readonly ids: readonly string[];
  readonly workers: readonly PlacementWorker[];
  /** Zone index per worker (-1: none), into `zones`. */
  readonly zoneOf: Int32Array;
  readonly zones: readonly string[];
  readonly slots: Float64Array;
  readonly usedSlots: Float64Array;
  readonly freeCpu: Float64Array;
  readonly freeMem: Float64Array;
  readonly freeGpu: Float64Array;
  readonly totalCpu: Float64Array;
  readonly totalMem: Float64Array;
  readonly totalGpu: Float64Array;
  /** Running workloads per worker index (with those this call placed). */
  readonly running: RunningWorkload[][];
  /** Cost per hour per worker (0 when it does not say), and the largest in the fleet. */
  readonly cost: Float64Array;
  readonly maxCost: number;
}

/**
 * A filter compiled for one workload: whether worker `w` (an index into the fleet) may take it.
 * `reason` says in plain words why not, the same text for every worker it refuses, so that
 * reasons can be counted.
 */
export interface WorkerCheck {
  readonly reason: string;
  ok(w: number): boolean;
}

/** A scorer compiled for one workload: a number for worker `w`, higher is better. */
export interface WorkerScore {
  readonly name: string;
  score(w: number): number;
}

/**
 * One placement policy: a filter (feasibility), a scorer (rank), or both, compiled per workload;
 * null when the workload does not use it. `static` policies depend only on the workload and the
 * workers' fixed traits (labels, taints, cost), so they are evaluated once per distinct workload
 * shape in a call; `dynamic` ones read what is used now, and are evaluated per decision.
 */
export interface PlacementPolicy {
  readonly name: string;
  readonly stage: 'static' | 'dynamic';
  /**
   * `eligible`: for a dynamic policy, the workers that passed every static filter (its type, its
   * whole capacity, labels, taints, cost), in no particular order; empty for a static one.
   */
  filters?(
    job: PendingWorkload,
    fleet: Fleet,
    state: PlacementState,
    eligible: ArrayLike<number>,
  ): WorkerCheck[];
  scorer?(job: PendingWorkload, fleet: Fleet, state: PlacementState): WorkerScore | null;
}

/** What a placement call knows besides the fleet: its strategy and label counts of running work. */
export interface PlacementState {
  readonly strategy: Strategy;
  /** Bumped whenever any selector's counts change. */
  readonly version: number;
  /** Counts of running workloads matching `selector`, per worker and per zone (live: they grow). */
  counts(selector: Readonly<Record<string, string>>): SelectorCounts;
  /**
   * Whether running workloads' anti-affinity terms are at play in this call (some running or
   * pending workload has one): then a workload's labels decide where it may go, and
   * {@link repelling} holds the terms.
   */
  readonly symmetric: boolean;
  /**
   * The distinct anti-affinity terms of running workloads, each with how many runs carry it per
   * worker and per zone; live: the list and counts grow as the call places work.
   */
  readonly repelling: readonly RepellingTerm[];
  /**
   * Whether some anti-affinity term of the call (of a running or a pending workload), required
   * or `preferred`, matches `labels`: if none does, running workloads' terms never concern them.
   */
  couldRepel(labels: Readonly<Record<string, string>> | undefined, preferred: boolean): boolean;
}

/** A running workloads' anti-affinity term, counted where the runs that carry it are. */
export interface RepellingTerm {
  readonly term: AntiAffinityTerm;
  readonly counts: SelectorCounts;
}

/** Running workloads matching one label selector, per worker index and per zone index. */
export interface SelectorCounts {
  readonly byWorker: Int32Array;
  readonly byZone: Int32Array;
  /** Bumped whenever a count changes. */
  readonly version: number;
}

/** Whether `labels` carry every key and value of `selector`. */
export function matchesSelector(
  labels: Readonly<Record<string, string>> | undefined,
  selector: Readonly<Record<string, string>>,
): boolean {
  if (labels === undefined) return false;
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

/** A selector as plain words: `app=web,tier=db`. */
export function selectorText(selector: Readonly<Record<string, string>>): string {
  return Object.keys(selector)
    .sort()
    .map((k) => `${k}=${selector[k]}`)
    .join(',');
}

/**
 * A worker's label `key`, with the built-in labels `zone` (its zone) and `worker` (its id), which
 * win over labels of the same name.
 */
export function workerLabel(worker: PlacementWorker, key: string): string | undefined {
  if (key === 'zone') return worker.zone ?? undefined;
  if (key === 'worker') return worker.id;
  return worker.labels?.[key];
}
