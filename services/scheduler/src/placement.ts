/** Resources of a workload or a worker; a missing field counts as 0. */
export interface Resources {
  cpu?: number;
  memoryMb?: number;
  gpu?: number;
}

/** A PENDING workload to place. */
export interface PendingWorkload {
  id: string;
  type: string;
  priority: number;
  requirements: Resources;
}

/** A live worker (ACTIVE and heard from recently): the caller filters out the others. */
export interface PlacementWorker {
  id: string;
  capacity: { slots: number; cpu: number; memoryMb: number; gpu: number };
  types: readonly string[];
}

/** What a worker's SCHEDULED and RUNNING workloads already take. */
export interface WorkerUsage {
  slots: number;
  cpu: number;
  memoryMb: number;
  gpu: number;
}

export interface Placement {
  workloadId: string;
  workerId: string;
}

export interface Unplaced {
  workloadId: string;
  reason: string;
}

export interface PlacementResult {
  placements: Placement[];
  unplaced: Unplaced[];
}

const RESOURCES = ['cpu', 'memoryMb', 'gpu'] as const;

/** Workers handling one type, as indexes into the per-call arrays, plus the largest offers. */
interface TypeIndex {
  workers: Int32Array;
  largest: { cpu: number; memoryMb: number; gpu: number };
}

const byPriorityThenId = (a: PendingWorkload, b: PendingWorkload): number =>
  b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function isOrdered(pending: readonly PendingWorkload[]): boolean {
  for (let i = 1; i < pending.length; i++)
    if (byPriorityThenId(pending[i - 1]!, pending[i]!) > 0) return false;
  return true;
}

/**
 * Decides where each pending workload runs. Pure: no I/O, no clock.
 *
 * `pending` is handled highest priority first, then oldest (smallest UUIDv7) first (it is sorted
 * here only if the caller did not already). A worker fits a workload when it handles the type and
 * has a free slot and enough free cpu, memoryMb and gpu: its capacity minus `usage` minus what
 * this call already placed on it. Among fitting workers the least loaded (used slots relative to
 * slots) wins, ties to the smallest id, which spreads work instead of packing the first worker.
 *
 * Cost: workers are indexed by type once per call, free resources live in typed arrays, so each
 * decision is one allocation-free scan over the workers of its type.
 */
export function placeWorkloads(
  pending: readonly PendingWorkload[],
  workers: readonly PlacementWorker[],
  usage: ReadonlyMap<string, WorkerUsage>,
): PlacementResult {
  const ordered = isOrdered(pending) ? pending : [...pending].sort(byPriorityThenId);
  // Sorted by id so a strict "less loaded" comparison breaks ties to the smallest id.
  const live = workers
    .filter((w) => w.capacity.slots > 0)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const n = live.length;
  const slots = new Float64Array(n);
  const usedSlots = new Float64Array(n);
  const freeCpu = new Float64Array(n);
  const freeMem = new Float64Array(n);
  const freeGpu = new Float64Array(n);
  const totalCpu = new Float64Array(n);
  const totalMem = new Float64Array(n);
  const totalGpu = new Float64Array(n);
  const byTypeLists = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const w = live[i]!;
    const u = usage.get(w.id);
    slots[i] = w.capacity.slots;
    usedSlots[i] = u?.slots ?? 0;
    totalCpu[i] = w.capacity.cpu;
    totalMem[i] = w.capacity.memoryMb;
    totalGpu[i] = w.capacity.gpu;
    freeCpu[i] = w.capacity.cpu - (u?.cpu ?? 0);
    freeMem[i] = w.capacity.memoryMb - (u?.memoryMb ?? 0);
    freeGpu[i] = w.capacity.gpu - (u?.gpu ?? 0);
    for (const type of new Set(w.types)) {
      let list = byTypeLists.get(type);
      if (!list) byTypeLists.set(type, (list = []));
      list.push(i);
    }
  }
  const byType = new Map<string, TypeIndex>();
  for (const [type, list] of byTypeLists) {
    const largest = { cpu: 0, memoryMb: 0, gpu: 0 };
    for (const i of list) {
      largest.cpu = Math.max(largest.cpu, totalCpu[i]!);
      largest.memoryMb = Math.max(largest.memoryMb, totalMem[i]!);
      largest.gpu = Math.max(largest.gpu, totalGpu[i]!);
    }
    byType.set(type, { workers: Int32Array.from(list), largest });
  }

  const placements: Placement[] = [];
  const unplaced: Unplaced[] = [];
  for (const w of ordered) {
    const index = byType.get(w.type);
    if (!index) {
      unplaced.push({ workloadId: w.id, reason: `no live worker handles type "${w.type}"` });
      continue;
    }
    const cpu = w.requirements.cpu ?? 0;
    const mem = w.requirements.memoryMb ?? 0;
    const gpu = w.requirements.gpu ?? 0;
    const tooBig = tooBigReason(w.requirements, index.largest);
    if (tooBig !== undefined) {
      unplaced.push({ workloadId: w.id, reason: tooBig });
      continue;
    }
    let best = -1;
    let fitTotal = 0; // workers whose whole capacity could hold it, for the reason
    let withSlot = 0;
    const list = index.workers;
    for (let k = 0; k < list.length; k++) {
      const i = list[k]!;
      if (totalCpu[i]! < cpu || totalMem[i]! < mem || totalGpu[i]! < gpu) continue;
      fitTotal++;
      if (usedSlots[i]! >= slots[i]!) continue;
      withSlot++;
      if (freeCpu[i]! < cpu || freeMem[i]! < mem || freeGpu[i]! < gpu) continue;
      // Less loaded: used_i / slots_i < used_best / slots_best, without division.
      if (best < 0 || usedSlots[i]! * slots[best]! < usedSlots[best]! * slots[i]!) best = i;
    }
    if (best < 0) {
      unplaced.push({ workloadId: w.id, reason: noRoomReason(w.type, fitTotal, withSlot) });
      continue;
    }
    usedSlots[best]! += 1;
    freeCpu[best]! -= cpu;
    freeMem[best]! -= mem;
    freeGpu[best]! -= gpu;
    placements.push({ workloadId: w.id, workerId: live[best]!.id });
  }
  return { placements, unplaced };
}

function tooBigReason(req: Resources, largest: TypeIndex['largest']): string | undefined {
  for (const r of RESOURCES) {
    const need = req[r] ?? 0;
    if (need > largest[r])
      return `needs ${r} ${need} but the largest live worker offers ${largest[r]}`;
  }
  return undefined;
}

function noRoomReason(type: string, fitTotal: number, withSlot: number): string {
  if (fitTotal === 0) {
    // Each resource fits some worker, but no single worker offers them all together.
    return `no live worker handling type "${type}" offers all of its cpu, memoryMb and gpu together`;
  }
  if (withSlot === 0) return `no free slot on the ${fitTotal} live worker(s) that fit`;
  return `not enough free cpu, memoryMb or gpu on the ${withSlot} live worker(s) that fit and have a free slot`;
}
