import type { JsMsg } from '@nats-io/jetstream';
import type { SubmissionV1 } from '@niyanta/messages';
import type { Backlog } from '../backlog.js';
import { blockedReason, queuedReason, typeAvailability } from '../blocked-types.js';
import type { PlacementExplanation } from '@niyanta/db';
import { placedExplanation } from '../placement/explanations.js';
import { neverFitsReason, offersByType } from '../placement/fit.js';
import type { Parking } from '../placement/parking.js';
import type { PendingWorkload, PlacementWorker } from '../placement/place-workloads.js';
import type { TenantAdmission } from '../tenant-admission.js';
import type { UsageLedger } from '../placement/usage-ledger.js';
import { DEFAULT_PRIORITY, waitingReason } from '../workload-core/decisions/submission.js';

/** A submission that passed decoding and admission. */
export interface Accepted {
  msg: JsMsg;
  tenant: string;
  submission: SubmissionV1;
}

/** How a workload left PENDING at ingest waits. */
export interface Waiting {
  /** Why, as the sweep and the placer would say it (null: it only waits its turn). */
  reason: string | null;
  /** No live worker could ever take it: inserted parked, out of the queue. */
  parked: boolean;
}

export const PLACED: Waiting = { reason: null, parked: false };

/** What ingest decided for a batch before inserting it. */
export interface AtIngest {
  /** Workload id → worker, for those placed at once. */
  placements: ReadonlyMap<string, string>;
  /** Workload id → the decision that placed it (worker and scores), as the placer records it. */
  explanations: ReadonlyMap<string, PlacementExplanation>;
  /** The fleet generation the decisions were made on (see `Parking`). */
  generation: number;
  /**
   * How one left PENDING waits, said as the sweep and the placer would say it, so that neither
   * has to rewrite a row just inserted.
   */
  waiting: (submission: SubmissionV1) => Waiting;
}

/** Nothing placed at ingest: only a runAt still to come is a reason to give. */
export const NOT_PLACED: AtIngest = {
  placements: new Map(),
  explanations: new Map(),
  generation: 0,
  waiting: (s) => ({ reason: waitingReason(s.runAt), parked: false }),
};

/**
 * Places new submissions at once, before their rows are written, when no older workload waits
 * for a slot (it would be overtaken) and a live worker has room: they are inserted SCHEDULED at
 * attempt 1, saving a placement transaction, a row version and a hop. Reserves in the ledger;
 * the caller releases what does not commit. Workloads with a runAt still to come wait. Also says
 * how each one left PENDING waits: parked if no live worker could ever take it (`neverFitsReason`),
 * else why it waits.
 */
export function placeAtIngest(
  accepted: readonly Accepted[],
  deps: {
    ledger: UsageLedger;
    backlog: Backlog;
    liveWorkers: () => readonly PlacementWorker[];
    parking: Pick<Parking, 'current'>;
    admission?: TenantAdmission;
  },
): AtIngest {
  const workers = deps.liveWorkers();
  const generation = deps.parking.current; // the fleet `workers` is
  const placements = new Map<string, string>();
  const explanations = new Map<string, PlacementExplanation>();
  const unplaced = new Map<string, string>();
  if (accepted.length > 0 && !deps.backlog.any && workers.length > 0) {
    const now = Date.now();
    const due: (PendingWorkload & { attempt: number })[] = [];
    for (const { tenant, submission: s } of accepted) {
      if (s.runAt !== undefined && Date.parse(s.runAt) > now) continue;
      // The placer holds a tenant to its run quotas: such work is not placed here.
      if (deps.admission?.hasRunQuota(tenant) === true) continue;
      // Fair share hook: the placer holds a concurrency key to its limit and order.
      if (s.concurrencyKey !== undefined) continue;
      // A redelivered submission of a workload already running: its insert will be skipped.
      if (deps.ledger.has(s.id)) continue;
      due.push({
        id: s.id,
        type: s.type,
        priority: s.priority ?? DEFAULT_PRIORITY,
        requirements: s.requirements ?? {},
        labels: s.labels ?? {},
        placement: s.placement ?? null,
        attempt: 0,
      });
    }
    const decision = deps.ledger.placeAndReserve(due, workers, { scores: true });
    for (const p of decision.placements) {
      placements.set(p.workloadId, p.workerId);
      explanations.set(p.workloadId, placedExplanation(p));
    }
    for (const u of decision.unplaced) unplaced.set(u.workloadId, u.reason);
  }
  // Read only when some are left PENDING: at low load every submission is placed.
  if (placements.size === accepted.length)
    return { ...NOT_PLACED, placements, explanations, generation };
  const offers = offersByType(workers);
  // After this batch's own reservations: the types it filled are full for the rest of it.
  const availability = typeAvailability(workers, deps.ledger);
  const behind = deps.backlog.any;
  return {
    placements,
    explanations,
    generation,
    waiting: (s) => {
      const never = neverFitsReason(s.type, s.requirements ?? {}, offers);
      if (never !== null) return { reason: never, parked: true };
      const reason =
        waitingReason(s.runAt) ??
        // Behind a backlog, free slots go to older work first (`queued`, or `full` if none is free).
        (behind ? queuedReason(s.type, availability) : blockedReason(s.type, availability)) ??
        unplaced.get(s.id) ??
        null;
      return { reason, parked: false };
    },
  };
}
