import { holdsEach } from './fit.js';

/** A PENDING workload that fits no worker now. */
export interface Preemptor {
  id: string;
  tenant: string;
  type: string;
  /** Its effective priority. */
  priority: number;
  requirements: { cpu?: number; memoryMb?: number; gpu?: number };
}

/** A SCHEDULED or RUNNING workload on a worker. */
export interface ActiveRun {
  id: string;
  tenant: string;
  priority: number;
  preemptible: boolean;
  workerId: string;
  requirements: { cpu?: number; memoryMb?: number; gpu?: number };
}

/** A live worker with what its runs take now. */
export interface PreemptionWorker {
  id: string;
  types: readonly string[];
  capacity: { slots: number; cpu: number; memoryMb: number; gpu: number };
  used: { slots: number; cpu: number; memoryMb: number; gpu: number };
}

/** The runs to stop on one worker so that the preemptor fits there. */
export interface PreemptionPlan {
  preemptorId: string;
  workerId: string;
  victims: ActiveRun[];
}

/**
 * Whether `run` may be stopped for `preemptor`: preemptible, at least `minGap` lower in priority,
 * and never for a workload of the same tenant with equal priority.
 */
export function mayEvict(preemptor: Preemptor, run: ActiveRun, minGap: number): boolean {
  if (!run.preemptible) return false;
  if (run.tenant === preemptor.tenant && run.priority === preemptor.priority) return false;
  return preemptor.priority - run.priority >= minGap;
}

const need = (r: ActiveRun['requirements']) => [r.cpu ?? 0, r.memoryMb ?? 0, r.gpu ?? 0] as const;

function fitsAfter(w: PreemptionWorker, freed: readonly ActiveRun[], p: Preemptor): boolean {
  let slots = w.capacity.slots - w.used.slots;
  let cpu = w.capacity.cpu - w.used.cpu;
  let mem = w.capacity.memoryMb - w.used.memoryMb;
  let gpu = w.capacity.gpu - w.used.gpu;
  for (const v of freed) {
    const [c, m, g] = need(v.requirements);
    slots += 1;
    cpu += c;
    mem += m;
    gpu += g;
  }
  const [c, m, g] = need(p.requirements);
  return slots >= 1 && holdsEach(cpu, mem, gpu, c, m, g);
}

/** Lower priority first, then the larger (frees more), then the smaller id. */
const victimOrder = (a: ActiveRun, b: ActiveRun): number => {
  const [ac, am, ag] = need(a.requirements);
  const [bc, bm, bg] = need(b.requirements);
  return (
    a.priority - b.priority ||
    bg - ag ||
    bc - ac ||
    bm - am ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
};

/** The fewest, then lowest, victims on one worker that make room, or undefined. */
function victimsOn(
  w: PreemptionWorker,
  runs: readonly ActiveRun[],
  p: Preemptor,
  minGap: number,
): ActiveRun[] | undefined {
  const eligible = runs.filter((r) => mayEvict(p, r, minGap)).sort(victimOrder);
  if (eligible.length === 0) return undefined;
  // One victim when one is enough: the lowest such.
  for (const v of eligible) if (fitsAfter(w, [v], p)) return [v];
  // Else the lowest first until it fits.
  const chosen: ActiveRun[] = [];
  for (const v of eligible) {
    chosen.push(v);
    if (fitsAfter(w, chosen, p)) return chosen;
  }
  return undefined;
}

/**
 * Where a PENDING workload that fits no worker could run by stopping lower-priority runs (see
 * {@link mayEvict}), on one worker that handles its type and whose whole capacity holds it: the
 * plan with the fewest victims, then the lowest highest-victim priority, then the lowest total,
 * then the smaller worker id. Runs in `protectedIds` (reserved victims of this cycle, preemptors)
 * are never chosen, so preemption never cascades within a cycle. Pure.
 */
export function planPreemption(
  preemptor: Preemptor,
  workers: readonly PreemptionWorker[],
  runsByWorker: ReadonlyMap<string, readonly ActiveRun[]>,
  minGap: number,
  protectedIds: ReadonlySet<string> = new Set(),
): PreemptionPlan | undefined {
  let best: { workerId: string; victims: ActiveRun[]; key: number[] } | undefined;
  const [c, m, g] = need(preemptor.requirements);
  for (const w of [...workers].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (!w.types.includes(preemptor.type) || w.capacity.slots < 1) continue;
    if (!holdsEach(w.capacity.cpu, w.capacity.memoryMb, w.capacity.gpu, c, m, g)) continue;
    const runs = (runsByWorker.get(w.id) ?? []).filter((r) => !protectedIds.has(r.id));
    const victims = victimsOn(w, runs, preemptor, minGap);
    if (victims === undefined) continue;
    const key = [
      victims.length,
      Math.max(...victims.map((v) => v.priority)),
      victims.reduce((s, v) => s + v.priority, 0),
    ];
    if (best === undefined || lexLess(key, best.key)) best = { workerId: w.id, victims, key };
  }
  return best && { preemptorId: preemptor.id, workerId: best.workerId, victims: best.victims };
}

function lexLess(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}
