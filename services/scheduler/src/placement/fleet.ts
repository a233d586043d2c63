import type {
  AntiAffinityTerm,
  Fleet,
  PlacementState,
  RepellingTerm,
  PlacementWorker,
  RunningWorkload,
  SelectorCounts,
  Strategy,
} from './framework.js';
import { matchesSelector, selectorText } from './framework.js';

/** What a worker's SCHEDULED and RUNNING workloads already take. */
export interface WorkerUsage {
  slots: number;
  cpu: number;
  memoryMb: number;
  gpu: number;
}

const byId = (a: PlacementWorker, b: PlacementWorker): number =>
  a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/**
 * The fleet of one placement call: the workers with a slot, sorted by id (so a strict "better"
 * comparison breaks ties to the smallest id), with their free resources in typed arrays.
 */
export function buildFleet(
  workers: readonly PlacementWorker[],
  usage: ReadonlyMap<string, WorkerUsage>,
  running: Iterable<RunningWorkload> = [],
): Fleet {
  const live = workers.filter((w) => w.capacity.slots > 0).sort(byId);
  const n = live.length;
  const fleet = {
    size: n,
    ids: live.map((w) => w.id),
    workers: live,
    zoneOf: new Int32Array(n),
    zones: [] as string[],
    slots: new Float64Array(n),
    usedSlots: new Float64Array(n),
    freeCpu: new Float64Array(n),
    freeMem: new Float64Array(n),
    freeGpu: new Float64Array(n),
    totalCpu: new Float64Array(n),
    totalMem: new Float64Array(n),
    totalGpu: new Float64Array(n),
    running: Array.from({ length: n }, () => [] as RunningWorkload[]),
    cost: new Float64Array(n),
    maxCost: 0,
  };
  const zoneIndex = new Map<string, number>();
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const w = live[i]!;
    index.set(w.id, i);
    const u = usage.get(w.id);
    fleet.slots[i] = w.capacity.slots;
    fleet.usedSlots[i] = u?.slots ?? 0;
    fleet.totalCpu[i] = w.capacity.cpu;
    fleet.totalMem[i] = w.capacity.memoryMb;
    fleet.totalGpu[i] = w.capacity.gpu;
    // Never more than the whole capacity, which the checks rely on.
    fleet.freeCpu[i] = w.capacity.cpu - Math.max(0, u?.cpu ?? 0);
    fleet.freeMem[i] = w.capacity.memoryMb - Math.max(0, u?.memoryMb ?? 0);
    fleet.freeGpu[i] = w.capacity.gpu - Math.max(0, u?.gpu ?? 0);
    const zone = w.zone ?? null;
    if (zone === null) fleet.zoneOf[i] = -1;
    else {
      let z = zoneIndex.get(zone);
      if (z === undefined) {
        z = fleet.zones.length;
        zoneIndex.set(zone, z);
        fleet.zones.push(zone);
      }
      fleet.zoneOf[i] = z;
    }
    const cost = w.costPerHour ?? 0;
    fleet.cost[i] = cost;
    if (cost > fleet.maxCost) fleet.maxCost = cost;
  }
  for (const r of running) {
    const i = index.get(r.workerId);
    if (i !== undefined) fleet.running[i]!.push(r);
  }
  return fleet;
}

/** A term's identity: its domain, weight and selector. */
const termKey = (t: AntiAffinityTerm): string =>
  `${t.topologyKey}\u0000${t.weight ?? ''}\u0000${selectorText(t.labels)}`;

/**
 * The distinct anti-affinity terms of a call, of its running workloads (in `fleet`) and of the
 * workloads it may place, and the label keys they select on.
 */
export function callTerms(
  fleet: Fleet,
  pending: readonly { placement?: { antiAffinity?: readonly AntiAffinityTerm[] } | null }[],
): { terms: AntiAffinityTerm[]; keys: string[] } {
  const byKey = new Map<string, AntiAffinityTerm>();
  const add = (ts: readonly AntiAffinityTerm[] | undefined) => {
    for (const t of ts ?? []) if (!byKey.has(termKey(t))) byKey.set(termKey(t), t);
  };
  for (const p of pending) add(p.placement?.antiAffinity);
  for (const rs of fleet.running) for (const r of rs) add(r.antiAffinity);
  const terms = [...byKey.values()];
  const keys = new Set<string>();
  for (const t of terms) for (const k of Object.keys(t.labels)) keys.add(k);
  return { terms, keys: [...keys].sort() };
}

/**
 * Label counts of running work for one call: per selector, counted once from the fleet's running
 * workloads when first asked, then kept up to date as the call places work.
 */
export class CallState implements PlacementState {
  private readonly selectors = new Map<
    string,
    { selector: Readonly<Record<string, string>>; counts: MutableCounts }
  >();
  version = 0;
  readonly repelling: { term: AntiAffinityTerm; counts: MutableCounts }[] = [];
  private readonly repellingByKey = new Map<string, RepellingTerm & { counts: MutableCounts }>();

  readonly symmetric: boolean;

  constructor(
    private readonly fleet: Fleet,
    readonly strategy: Strategy,
    /**
     * Every anti-affinity term of the call: of its running workloads and of those it may place
     * (see {@link callTerms}). None: running workloads' terms are not at play.
     */
    private readonly terms: readonly AntiAffinityTerm[] = [],
  ) {
    this.symmetric = terms.length > 0;
    if (!this.symmetric) return;
    for (let i = 0; i < fleet.size; i++)
      for (const r of fleet.running[i]!) for (const t of r.antiAffinity ?? []) this.repel(i, t);
  }

  couldRepel(labels: Readonly<Record<string, string>> | undefined, preferred: boolean): boolean {
    for (const t of this.terms)
      if ((t.weight !== undefined) === preferred && matchesSelector(labels, t.labels)) return true;
    return false;
  }

  /** Counts a run carrying anti-affinity `term` on worker `w`. */
  private repel(w: number, term: AntiAffinityTerm): void {
    const key = termKey(term);
    let entry = this.repellingByKey.get(key);
    if (!entry) {
      entry = {
        term,
        counts: {
          byWorker: new Int32Array(this.fleet.size),
          byZone: new Int32Array(this.fleet.zones.length),
          version: 0,
        },
      };
      this.repellingByKey.set(key, entry);
      this.repelling.push(entry);
    }
    entry.counts.byWorker[w]!++;
    const z = this.fleet.zoneOf[w]!;
    if (z >= 0) entry.counts.byZone[z]!++;
    entry.counts.version++;
  }

  counts(selector: Readonly<Record<string, string>>): SelectorCounts {
    const key = selectorText(selector);
    let entry = this.selectors.get(key);
    if (!entry) {
      const counts: MutableCounts = {
        byWorker: new Int32Array(this.fleet.size),
        byZone: new Int32Array(this.fleet.zones.length),
        version: 0,
      };
      for (let i = 0; i < this.fleet.size; i++) {
        for (const r of this.fleet.running[i]!) {
          if (!matchesSelector(r.labels, selector)) continue;
          counts.byWorker[i]!++;
          const z = this.fleet.zoneOf[i]!;
          if (z >= 0) counts.byZone[z]!++;
        }
      }
      entry = { selector, counts };
      this.selectors.set(key, entry);
    }
    return entry.counts;
  }

  /** A workload with `labels` (and anti-affinity terms) was placed on worker `w`. */
  placed(
    w: number,
    workerId: string,
    labels: Readonly<Record<string, string>> | undefined,
    antiAffinity?: readonly AntiAffinityTerm[],
  ): void {
    const run: RunningWorkload = { workerId, labels: labels ?? {} };
    if (antiAffinity !== undefined) run.antiAffinity = antiAffinity;
    this.fleet.running[w]!.push(run);
    if (this.symmetric && antiAffinity !== undefined)
      for (const t of antiAffinity) this.repel(w, t);
    if (labels === undefined) return;
    for (const { selector, counts } of this.selectors.values()) {
      if (!matchesSelector(labels, selector)) continue;
      counts.byWorker[w]!++;
      const z = this.fleet.zoneOf[w]!;
      if (z >= 0) counts.byZone[z]!++;
      counts.version++;
      this.version++;
    }
  }
}

interface MutableCounts {
  byWorker: Int32Array;
  byZone: Int32Array;
  version: number;
}
