import type { PlacementExplanation } from '@niyanta/db';
import { explainOn } from './explain.js';
import { holdsEach, neverFitsReason, offersByType } from './fit.js';
import type { Resources } from './fit.js';
import { CallState, buildFleet, callTerms } from './fleet.js';
import type { WorkerUsage } from './fleet.js';
import type {
  Fleet,
  PendingWorkload,
  PlacementWorker,
  RunningWorkload,
  Strategy,
} from './framework.js';
import { RESOURCE_REASONS } from './resources.js';
import { TOO_SMALL_REASON, compileShape, scoresAt, shapeKey } from './shape.js';
import type { Shape, StaticSet } from './shape.js';
import { binpackScore, spreadScore } from './strategy.js';

export type { PendingWorkload, PlacementWorker, Resources, RunningWorkload, Strategy, WorkerUsage };

export interface Placement {
  workloadId: string;
  workerId: string;
  /** With `scores`: the winner's total score and each scorer's part. */
  score?: number;
  scores?: Record<string, number>;
}

export interface Unplaced {
  workloadId: string;
  reason: string;
  /**
   * No live worker could ever take it: none handles its type and holds what it needs in all
   * (`neverFitsReason`), or none of those passes its static filters (affinity, taints, cost,
   * spot), which only a change in the fleet can alter. It is parked, out of the queue.
   */
  parked: boolean;
  /** With `explain`: every worker's verdict at the time of its decision. */
  explanation?: PlacementExplanation;
}

export interface PlacementResult {
  placements: Placement[];
  unplaced: Unplaced[];
}

export interface PlaceOptions {
  /** The strategy of workloads that do not name one (PLACEMENT_STRATEGY); default spread. */
  strategy?: Strategy;
  /**
   * The SCHEDULED and RUNNING workloads, for anti-affinity and topology spread: all of them when
   * a pending workload has anti-affinity or spread terms, else at least those with anti-affinity
   * terms (which keep matching workloads off their worker or zone).
   */
  running?: Iterable<RunningWorkload>;
  /** Give each placement its scores. */
  scores?: boolean;
  /** Explain at most this many unplaced workloads (not parked ones) worker by worker. */
  explain?: number;
  /** Explain at most this many workloads parked for their static filters worker by worker. */
  explainParked?: number;
  /** Offer capacity in the order given (fair share across tenants) instead of by priority. */
  inOrder?: boolean;
}

/**
 * Feasible workers one decision scores at most: past that it takes the best of those it found,
 * scanning from where the previous decision of the same shape stopped (Nomad's limit iterator,
 * kube-scheduler's percentageOfNodesToScore). Below it, every feasible worker is scored.
 */
export const SCORED_WORKERS_MAX = 50;

const byPriorityThenId = (a: PendingWorkload, b: PendingWorkload): number =>
  b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function isOrdered(pending: readonly PendingWorkload[]): boolean {
  for (let i = 1; i < pending.length; i++)
    if (byPriorityThenId(pending[i - 1]!, pending[i]!) > 0) return false;
  return true;
}

/**
 * Decides where each pending workload runs. Pure: no I/O, no clock; the same input gives the
 * same output.
 *
 * `pending` is handled highest priority first, then oldest (smallest UUIDv7) first (it is sorted
 * here only if the caller did not already). A workload no live worker could ever take is left
 * out, `parked` (`neverFitsReason`). For the others, filters say which workers may take it (its
 * type, its whole capacity, then the static policies: affinity, taints, cost, spot; then per
 * decision a free slot, free cpu, memoryMb and gpu, anti-affinity and topology spread), and
 * scorers rank those (the strategy: spread = least loaded by slots, binpack = most loaded by the
 * dominant resource; preferred affinity, PreferNoSchedule taints, spot, cost, anti-affinity
 * preferences, retry-away). The highest total wins, ties to the smallest id.
 *
 * Cost: workloads of one shape (type, needs, placement terms) share their static filtering, done
 * once per call; each decision scans the shape's remaining workers until it has scored
 * {@link SCORED_WORKERS_MAX} feasible ones, dropping workers it finds full.
 */
export function placeWorkloads(
  pending: readonly PendingWorkload[],
  workers: readonly PlacementWorker[],
  usage: ReadonlyMap<string, WorkerUsage>,
  options: PlaceOptions = {},
): PlacementResult {
  // inOrder: the caller's order is the order capacity is offered in (fair share across tenants).
  const ordered =
    options.inOrder === true || isOrdered(pending) ? pending : [...pending].sort(byPriorityThenId);
  const fleet = buildFleet(workers, usage, options.running);
  // Anti-affinity is symmetric: running workloads' terms keep matching workloads off too, so
  // the labels those terms select on are part of a workload's shape.
  const { terms, keys: repelKeys } = callTerms(fleet, ordered);
  const state = new CallState(fleet, options.strategy ?? 'spread', terms);
  const byTypeLists = new Map<string, number[]>();
  for (let i = 0; i < fleet.size; i++) {
    for (const type of new Set(fleet.workers[i]!.types)) {
      let list = byTypeLists.get(type);
      if (!list) byTypeLists.set(type, (list = []));
      list.push(i);
    }
  }
  const byType = new Map<string, Int32Array>();
  for (const [type, list] of byTypeLists) byType.set(type, Int32Array.from(list));
  const offers = offersByType(fleet.workers);
  const shapes = new Map<string, Shape>();
  const statics = new Map<string, StaticSet>();
  let explainLeft = options.explain ?? 0;
  let explainParkedLeft = options.explainParked ?? 0;

  const placements: Placement[] = [];
  const unplaced: Unplaced[] = [];
  for (const w of ordered) {
    const never = neverFitsReason(w.type, w.requirements, offers);
    if (never !== null) {
      unplaced.push({ workloadId: w.id, reason: never, parked: true });
      continue;
    }
    const key = shapeKey(w, state.strategy, repelKeys);
    let shape = shapes.get(key);
    if (!shape)
      shapes.set(key, (shape = compileShape(w, fleet, state, byType.get(w.type)!, statics)));
    if (!shape.monotone && shape.exhaustedAt !== state.version) shape.exhausted = null;
    const best = shape.exhausted === null ? decide(shape, fleet) : -1;
    if (best < 0) {
      const reason = shape.exhausted ?? unplacedReason(shape);
      shape.exhausted = reason;
      shape.exhaustedAt = state.version;
      // No live worker passes its static filters (a worker's fixed traits decide them): it waits
      // parked until the fleet changes, as one no worker's capacity holds does.
      const u: Unplaced = { workloadId: w.id, reason, parked: shape.eligible === 0 };
      if (u.parked) {
        // Its one evaluation until the fleet changes: GET …/placement shows it worker by worker.
        if (explainParkedLeft > 0) {
          explainParkedLeft--;
          u.explanation = explainOn(w, fleet, state, shape);
        }
        unplaced.push(u);
        continue;
      }
      if (explainLeft > 0) {
        explainLeft--;
        u.explanation = explainOn(w, fleet, state, shape);
      }
      unplaced.push(u);
      continue;
    }
    const placement: Placement = { workloadId: w.id, workerId: fleet.ids[best]! };
    if (options.scores === true) Object.assign(placement, scoresAt(shape, fleet, best));
    fleet.usedSlots[best]! += 1;
    fleet.freeCpu[best]! -= shape.cpu;
    fleet.freeMem[best]! -= shape.mem;
    fleet.freeGpu[best]! -= shape.gpu;
    state.placed(best, fleet.ids[best]!, w.labels, w.placement?.antiAffinity);
    placements.push(placement);
  }
  return { placements, unplaced };
}

/**
 * One decision: the best feasible worker of `shape` (an index into the fleet), or -1. Counts in
 * `shape.tally` why the workers it scanned were refused.
 */
function decide(shape: Shape, fleet: Fleet): number {
  const { cand, staticScore, checks, scorers, tally, cpu, mem, gpu } = shape;
  const binpack = shape.strategy === 'binpack';
  const nChecks = checks.length;
  const nScorers = scorers.length;
  tally.fill(0);
  let best = -1;
  let bestScore = -Infinity;
  let feasible = 0;
  let scanned = 0;
  let pos = shape.len === 0 ? 0 : shape.cursor % shape.len;
  while (scanned < shape.len) {
    const i = cand[pos]!;
    if (fleet.usedSlots[i]! >= fleet.slots[i]!) {
      // Full for the rest of the call: drop it (the last one takes its place, not yet scanned).
      const last = --shape.len;
      cand[pos] = cand[last]!;
      staticScore[pos] = staticScore[last]!;
      cand[last] = i;
      if (pos >= shape.len) pos = 0;
      continue;
    }
    scanned++;
    const next = pos + 1 === shape.len ? 0 : pos + 1;
    if (!holdsEach(fleet.freeCpu[i]!, fleet.freeMem[i]!, fleet.freeGpu[i]!, cpu, mem, gpu)) {
      tally[nChecks + (cpu > fleet.freeCpu[i]! ? 0 : mem > fleet.freeMem[i]! ? 1 : 2)]!++;
      pos = next;
      continue;
    }
    let refused = false;
    for (let j = 0; j < nChecks; j++) {
      if (!checks[j]!.ok(i)) {
        tally[j]!++;
        refused = true;
        break;
      }
    }
    if (refused) {
      pos = next;
      continue;
    }
    let score =
      staticScore[pos]! +
      (binpack
        ? binpackScore(fleet, i, cpu, mem, gpu)
        : spreadScore(fleet.usedSlots[i]!, fleet.slots[i]!));
    for (let j = 0; j < nScorers; j++) score += scorers[j]!.score(i);
    if (score > bestScore || (score === bestScore && i < best)) {
      best = i;
      bestScore = score;
    }
    pos = next;
    if (++feasible >= SCORED_WORKERS_MAX) break;
  }
  shape.cursor = pos;
  return best;
}

/**
 * Why a workload some live worker could take waits now: the most common reason among the
 * workers of its type. Without placement terms at play, the resources' words as before.
 */
function unplacedReason(shape: Shape): string {
  const counts = new Map<string, number>();
  let policies = 0;
  for (const [reason, n] of shape.staticReasons) {
    counts.set(reason, n);
    if (reason !== TOO_SMALL_REASON) policies += n;
  }
  const full = shape.eligible - shape.len;
  if (full > 0) counts.set(RESOURCE_REASONS.slot, full);
  const nChecks = shape.checks.length;
  for (let j = 0; j < nChecks; j++) {
    const n = shape.tally[j]!;
    if (n === 0) continue;
    policies += n;
    const reason = shape.checks[j]!.reason;
    counts.set(reason, (counts.get(reason) ?? 0) + n);
  }
  const resources = [RESOURCE_REASONS.cpu, RESOURCE_REASONS.memoryMb, RESOURCE_REASONS.gpu];
  if (policies === 0) {
    const fitTotal = shape.eligible;
    const withSlot = shape.len;
    if (withSlot === 0) return `no free slot on the ${fitTotal} live worker(s) that fit`;
    return `not enough free cpu, memoryMb or gpu on the ${withSlot} live worker(s) that fit and have a free slot`;
  }
  for (let r = 0; r < 3; r++) {
    const n = shape.tally[nChecks + r]!;
    if (n > 0) counts.set(resources[r]!, (counts.get(resources[r]!) ?? 0) + n);
  }
  let top = '';
  let topCount = 0;
  for (const [reason, n] of counts) {
    if (n > topCount) {
      top = reason;
      topCount = n;
    }
  }
  return `${top} (${topCount} of ${shape.total} live worker(s) that handle type "${shape.type}")`;
}
