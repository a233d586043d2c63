import { holdsEach, neverFitsReason, offersByType } from './fit.js';
import type { Resources } from './fit.js';

export type { Resources };

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
  /** No live worker could ever take it (see `neverFitsReason`): it is parked, out of the queue. */
  parked: boolean;
}

export interface PlacementResult {
  placements: Placement[];
  unplaced: Unplaced[];
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
 * here only if the caller did not already). A workload no live worker could ever take is left
 * out, `parked` (`neverFitsReason`). A worker fits a workload when it handles the type and has a
 * free slot and its free cpu, memoryMb and gpu hold what the workload needs (`holds`): its
 * capacity minus `usage` minus what this call already placed on it. Among fitting workers the least loaded (used slots relative to
 * slots) wins, ties to the smallest id, which spreads work instead of packing the first worker.
 *
 * Cost: workers are indexed by type once per call, free resources live in typed arrays, so each
 * decision is one scan over the workers of its type that allocates nothing per worker (and a
 * second one, for the reason, when it places nothing).
 */
export function placeWorkloads(
  pending: readonly PendingWorkload[],
  workers: readonly PlacementWorker[],
  usage: ReadonlyMap<string, WorkerUsage>,
  opts: { inOrder?: boolean } = {},
): PlacementResult {
  // inOrder: the caller's order is the order capacity is offered in (fair share across tenants).
  const ordered =
    opts.inOrder === true || isOrdered(pending) ? pending : [...pending].sort(byPriorityThenId);
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
    // Never more than the whole capacity, which the scan below relies on.
    freeCpu[i] = w.capacity.cpu - Math.max(0, u?.cpu ?? 0);
    freeMem[i] = w.capacity.memoryMb - Math.max(0, u?.memoryMb ?? 0);
    freeGpu[i] = w.capacity.gpu - Math.max(0, u?.gpu ?? 0);
    for (const type of new Set(w.types)) {
      let list = byTypeLists.get(type);
      if (!list) byTypeLists.set(type, (list = []));
      list.push(i);
    }
  }
  const byType = new Map<string, Int32Array>();
  for (const [type, list] of byTypeLists) byType.set(type, Int32Array.from(list));
  const offers = offersByType(live);

  const placements: Placement[] = [];
  const unplaced: Unplaced[] = [];
  for (const w of ordered) {
    // One shape for every workload's needs: the checks below stay monomorphic.
    const cpu = w.requirements.cpu ?? 0;
    const mem = w.requirements.memoryMb ?? 0;
    const gpu = w.requirements.gpu ?? 0;
    const never = neverFitsReason(w.type, { cpu, memoryMb: mem, gpu }, offers);
    if (never !== null) {
      unplaced.push({ workloadId: w.id, reason: never, parked: true });
      continue;
    }
    let best = -1;
    const list = byType.get(w.type)!;
    for (let k = 0; k < list.length; k++) {
      const i = list[k]!;
      if (usedSlots[i]! >= slots[i]!) continue;
      // What is free on a worker is never more than its whole capacity: no need to check both.
      if (!holdsEach(freeCpu[i]!, freeMem[i]!, freeGpu[i]!, cpu, mem, gpu)) continue;
      // Less loaded: used_i / slots_i < used_best / slots_best, without division.
      if (best < 0 || usedSlots[i]! * slots[best]! < usedSlots[best]! * slots[i]!) best = i;
    }
    if (best < 0) {
      // Only for the reason: the workers whose whole capacity holds it, and those with a slot.
      let fitTotal = 0;
      let withSlot = 0;
      for (let k = 0; k < list.length; k++) {
        const i = list[k]!;
        if (!holdsEach(totalCpu[i]!, totalMem[i]!, totalGpu[i]!, cpu, mem, gpu)) continue;
        fitTotal++;
        if (usedSlots[i]! < slots[i]!) withSlot++;
      }
      unplaced.push({ workloadId: w.id, reason: noRoomReason(fitTotal, withSlot), parked: false });
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

/** Why a workload some live worker could take (`fitTotal` of them) waits now. */
function noRoomReason(fitTotal: number, withSlot: number): string {
  if (withSlot === 0) return `no free slot on the ${fitTotal} live worker(s) that fit`;
  return `not enough free cpu, memoryMb or gpu on the ${withSlot} live worker(s) that fit and have a free slot`;
}
