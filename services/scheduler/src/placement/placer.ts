import type { Database } from '@niyanta/db';
import type { Kysely } from 'kysely';
import { placementCycleSeconds } from '@niyanta/telemetry';
import { sendAssignments } from '../assignments.js';
import type { Logger } from '../logger.js';
import type { PlacementWorker, Unplaced } from './place-workloads.js';
import type { Placement as Decided } from './place-workloads.js';
import { failedWorkers, recordExplanations } from './explanations.js';
import { applyPlacements } from '../workload-core/statements/place.js';
import { typeAvailability } from '../blocked-types.js';
import type { Parking } from './parking.js';
import { selectPendingByIds } from '../pending-queue.js';
import { explainBlockedTypes } from '../workload-core/statements/explain-blocked-types.js';
import { explainSaturatedTenants } from '../workload-core/statements/explain-saturated-tenants.js';
import { recordUnplaced } from '../workload-core/statements/record-unplaced.js';
import type { PendingRow } from '../pending-queue.js';
import { FairQueue } from './fair-queue.js';
import { PREEMPTORS_PER_CYCLE, preemptFor } from './preemption-pass.js';
import type { PreemptionSettings } from './preemption-pass.js';
import { publishAll } from '@niyanta/messages';
import type { Outgoing } from '@niyanta/messages';
import type { Placement } from '../workload-core/decisions/placement.js';
import { publishAfterCommit } from '../workload-core/publish-after-commit.js';
import type { TenantRunQuotas } from '../tenant-run-quotas.js';
import type { Bus } from '../workload-core/publish-after-commit.js';
import type { Transition } from '../workload-core/transition.js';

/** Pending workloads one page of a cycle looks at, at most. */
export const PLACEMENT_BATCH = 1000;

/**
 * Pending workloads one cycle reads at most, over all its pages: what it may pass over to find
 * work that fits is bounded, however long the queue.
 */
export const CYCLE_ROWS_MAX = 4 * PLACEMENT_BATCH;

/**
 * While every slot is taken, a look for preemption that found nothing is repeated after this long
 * at the soonest, unless new work was queued since: in a burst most cycles find no free slot, and
 * each look is a transaction reading every tenant's queue head.
 */
export const PREEMPTION_LOOK_GAP_MS = 250;

/** Unplaced workloads the sweep's cycle explains worker by worker, at most. */
export const EXPLAINED_PER_SWEEP = 50;

/** The result of one placement cycle. */
export interface CycleResult {
  considered: number;
  placed: number;
  /** Rows it parked: no live worker could ever take them. */
  parked: number;
  /** It made progress and stopped short of the queue's end: go again at once. */
  more: boolean;
}

/**
 * Cycles running at once. Two make a pipeline: one selects and decides while the previous one
 * commits and publishes its assignments (most of a cycle is waiting on PostgreSQL and the
 * broker). The ledger keeps their decisions apart, and SKIP LOCKED their rows.
 */
const MAX_CONCURRENT_CYCLES = 2;

/**
 * Places PENDING workloads on live workers. Triggers coalesce: at most
 * {@link MAX_CONCURRENT_CYCLES} cycles run at once and one more is queued, however many triggers
 * arrive meanwhile.
 */
export class Placer {
  private readonly cycles = new Set<Promise<void>>();
  private queued = false;
  /** Free slots a running cycle's query may take but that it has not reserved yet. */
  private claimed = 0;
  private stopped = false;
  private sweep: NodeJS.Timeout | undefined;
  private wakeUp: { at: number; timer: NodeJS.Timeout } | undefined;
  /** The sweep refreshes the reasons of workloads no worker can take now (not every cycle). */
  private explainDue = true;
  /** The last cycle found a type with every worker full: its workloads may wait for a slot. */
  private typesFull = true;
  /** The last look for preemption alone, when it found nothing: when, and the backlog's token. */
  private idleLook: { at: number; token: number } | undefined;

  constructor(
    private readonly opts: Bus & {
      db: Kysely<Database>;
      liveWorkers: () => readonly PlacementWorker[];
      parking: Parking;
      sweepMs: number;
      log: Logger;
      /** Tenants' maxRunning and resource quotas; absent: none are enforced. */
      runQuotas?: TenantRunQuotas;
      /** How the queue is read (fair share, aging, concurrency keys); default: aging off. */
      fairQueue?: FairQueue;
      /** PREEMPTION and its settings; absent: off. */
      preemption?: PreemptionSettings;
    },
  ) {
    this.queue = opts.fairQueue ?? new FairQueue({ agingMs: 0 });
  }

  private readonly queue: FairQueue;

  /** Starts the periodic sweep (it also catches run_at and retry times coming due). */
  start(): void {
    this.sweep = setInterval(() => {
      this.explainDue = true;
      this.trigger();
    }, this.opts.sweepMs);
    this.trigger();
  }

  /** Asks for a placement cycle soon. Never throws; errors are logged and the sweep retries. */
  trigger(): void {
    if (this.stopped) return;
    if (this.cycles.size >= MAX_CONCURRENT_CYCLES) {
      this.queued = true;
      return;
    }
    this.queued = false;
    const timer = placementCycleSeconds.startTimer();
    const run: Promise<void> = this.cycle().then(
      (result) => {
        // A full batch means more may be waiting: go again at once.
        if (result.more) this.queued = true;
      },
      (err: unknown) =>
        this.opts.log.error({ err }, 'placement cycle failed; the next trigger or sweep retries'),
    );
    this.cycles.add(run);
    void run.finally(() => {
      timer();
      this.cycles.delete(run);
      if (this.queued) this.trigger();
    });
  }

  /**
   * Whether a freed slot may let a waiting workload run: some may wait in PostgreSQL (the
   * backlog), or some type's workers were all full. Otherwise new work is placed at ingest and a
   * cycle per completion would find nothing.
   */
  wantsFreedSlots(): boolean {
    return this.opts.backlog.any || this.typesFull;
  }

  /** Triggers a cycle in `delayMs` (a retry's run_at), unless an earlier one is already set. */
  triggerIn(delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + delayMs;
    if (this.wakeUp && this.wakeUp.at <= at) return;
    if (this.wakeUp) clearTimeout(this.wakeUp.timer);
    const timer = setTimeout(() => {
      this.wakeUp = undefined;
      this.trigger();
    }, delayMs + 5); // now() in PostgreSQL and here differ slightly; the sweep covers the rest
    timer.unref();
    this.wakeUp = { at, timer };
  }

  /** Stops triggering and waits for the cycles in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweep) clearInterval(this.sweep);
    if (this.wakeUp) clearTimeout(this.wakeUp.timer);
    while (this.cycles.size > 0) await Promise.all([...this.cycles]);
  }

  /**
   * Preemption for workloads of `types` that a placing cycle does not read: every type while every
   * slot is taken, the types whose workers are all full otherwise. Looks at the heads of the
   * tenants' queues of those types without locking them (a placing cycle must not skip them),
   * leaves out work over a tenant's run quotas (maxRunning included), and locks by id only the
   * preemptors it finds victims for, which it places on the victims' worker
   * (placement/preemption-pass.ts). A look that found nothing is repeated once new work is
   * queued, else after {@link PREEMPTION_LOOK_GAP_MS} (a wake-up is set for it).
   */
  private async preemptOnly(
    workers: readonly PlacementWorker[],
    settings: PreemptionSettings,
    types: readonly string[],
  ): Promise<void> {
    const { db, ledger, backlog } = this.opts;
    if (workers.length === 0 || types.length === 0) return;
    const token = backlog.begin();
    const idle = this.idleLook;
    if (idle !== undefined && idle.token === token) {
      const wait = idle.at + PREEMPTION_LOOK_GAP_MS - Date.now();
      if (wait > 0) {
        this.triggerIn(wait);
        return;
      }
    }
    const lookedAt = Date.now();
    const reserved: { id: string; attempt: number }[] = [];
    let outcome: { transitions: Transition[]; controls: Outgoing<'control'>[] };
    try {
      outcome = await db.transaction().execute(async (trx) => {
        const page = await this.queue
          .pass(trx, workers, [], false)
          .next(PREEMPTORS_PER_CYCLE, types);
        if (page.offered.length === 0) return { transitions: [], controls: [] };
        // Run quotas hold preemptors back as they hold placements (read only when some wait).
        const gate = await this.opts.runQuotas?.gate(trx);
        const candidates =
          gate === undefined
            ? page.offered
            : page.offered.filter((p) => gate.admit(p.tenant, p.requirements) === null);
        const preempted = await preemptFor(
          trx,
          candidates,
          workers,
          ledger,
          settings,
          async (rows) =>
            new Set(
              (
                await selectPendingByIds(
                  trx,
                  types,
                  rows.map((r) => r.id),
                )
              ).map((r) => r.id),
            ),
        );
        const placements: Placement[] = [];
        for (const { row, workerId } of preempted.placements) {
          ledger.reserveNext(row, workerId);
          reserved.push({ id: row.id, attempt: row.attempt + 1 });
          placements.push({ id: row.id, attempt: row.attempt, workerId });
        }
        const transitions = await applyPlacements(trx, placements);
        return { transitions, controls: preempted.controls };
      });
    } catch (err) {
      for (const r of reserved) ledger.cancel(r.id, r.attempt);
      throw err;
    }
    const applied = new Set(outcome.transitions.map((t) => t.row.id));
    for (const r of reserved) if (!applied.has(r.id)) ledger.cancel(r.id, r.attempt);
    const found = outcome.transitions.length > 0 || outcome.controls.length > 0;
    this.idleLook = found ? undefined : { at: lookedAt, token };
    await this.afterCommit(outcome.transitions, outcome.controls);
  }

  /** Sends what a committed placement decided: assignments, preempt orders, status events. */
  private async afterCommit(
    transitions: Transition[],
    controls: readonly Outgoing<'control'>[],
  ): Promise<void> {
    const { log } = this.opts;
    const sending = sendAssignments(this.opts, transitions, log);
    if (controls.length > 0) {
      // The victims keep running if this fails: their preemptors start when a slot frees.
      await publishAll(this.opts.js, [...controls]).catch((err: unknown) =>
        log.error({ err, count: controls.length }, 'preempt orders not sent'),
      );
    }
    await publishAfterCommit(this.opts, transitions, log);
    await sending;
  }

  /**
   * One placement cycle in one transaction; exposed for tests. It reads the queue a page at a
   * time, the first no longer than there are free slots (by the ledger), so a long queue costs
   * nothing while every worker is busy. What it reads and cannot place now does not stop it: while
   * free slots remain it reads the next page, up to {@link CYCLE_ROWS_MAX} rows in all. A workload
   * no live worker could ever take is parked on the way, out of the queue until the fleet grows;
   * before reading, the cycle un-parks what a joined worker can take, one bounded statement.
   * Assignments go out once the transaction has committed.
   */
  async cycle(): Promise<CycleResult> {
    const { db, ledger, backlog, parking, log } = this.opts;
    const workers = this.opts.liveWorkers();
    const generation = parking.current; // the fleet `workers` is
    const unpark = await parking.step(db, workers);
    // The sweep's cycle also explains, worker by worker, why some workloads wait.
    const sweeping = this.explainDue;
    let explainLeft = sweeping ? EXPLAINED_PER_SWEEP : 0;
    let explainParkedLeft = EXPLAINED_PER_SWEEP;
    if (unpark.unparked > 0) backlog.mark(); // back in the queue, before anything newer
    if (this.explainDue) {
      this.explainDue = false;
      const types = await explainBlockedTypes(
        db,
        typeAvailability(workers, ledger),
        PLACEMENT_BATCH,
      );
      parking.parked(generation, types);
    }
    // Read after the last await: the ledger changes while this cycle waits.
    let availability = typeAvailability(workers, ledger);
    this.typesFull = availability.open.size < availability.live.size;
    const stepAgain = unpark.stepped && parking.pending;
    let limit = Math.min(PLACEMENT_BATCH, availability.freeSlots - this.claimed);
    const preemption =
      this.opts.preemption !== undefined && this.opts.preemption.mode !== 'off'
        ? this.opts.preemption
        : undefined;
    if (limit <= 0) {
      // Preemption hook: with every slot taken, the queue's heads may still preempt.
      if (preemption !== undefined)
        await this.preemptOnly(workers, preemption, [...availability.live]);
      return { considered: 0, placed: 0, parked: 0, more: stepAgain };
    }

    const token = backlog.begin();
    const reserved: { id: string; attempt: number }[] = [];
    // Free slots the page being read may take, claimed as soon as its limit is set (before any
    // await, or a cycle starting meanwhile would count them free too) and given back once its
    // decision is reserved in the ledger.
    let claim = 0;
    const claimFor = (pageLimit: number) => {
      claim = Math.max(0, Math.min(pageLimit, availability.freeSlots - this.claimed));
      this.claimed += claim;
    };
    const unclaim = () => {
      this.claimed -= claim;
      claim = 0;
    };
    claimFor(limit);
    let outcome: {
      transitions: Transition[];
      considered: number;
      parkedTypes: Set<string>;
      parked: number;
      exhausted: boolean;
      controls: Outgoing<'control'>[];
    };
    try {
      outcome = await db.transaction().execute(async (trx) => {
        const rows = new Map<string, PendingRow>();
        const placements: Placement[] = [];
        const unplaced: Unplaced[] = [];
        /** Read, offered and not placed for want of room: candidates to preempt. */
        const waiting: PendingRow[] = [];
        const decided: Decided[] = [];
        let exhausted = false;
        // Tenants' run quotas: those at maxRunning are not read at all (their backlog cannot
        // crowd out others'); the others' work is let through in queue order up to the quotas.
        const gate = await this.opts.runQuotas?.gate(trx);
        const saturated = gate?.saturated() ?? [];
        await explainSaturatedTenants(trx, saturated, PLACEMENT_BATCH);
        const skipTenants = saturated.map((t) => t.tenant);
        // Fair share hook: each page holds up to `limit` rows of every tenant's queue, in the
        // order capacity is offered (fair share across tenants, aging and age within one), less
        // those a concurrency key holds back (placement/fair-queue.ts).
        const queue = this.queue.pass(trx, workers, skipTenants);
        for (;;) {
          const page = await queue.next(limit, [...availability.open]);
          if (page.read.length === 0) {
            exhausted = true;
            break;
          }
          for (const row of page.read) rows.set(row.id, row);
          unplaced.push(...page.held);
          const overQuota: Unplaced[] = [];
          const allowed =
            gate === undefined
              ? page.offered
              : page.offered.filter((p) => {
                  const reason = gate.admit(p.tenant, p.requirements);
                  if (reason !== null) overQuota.push({ workloadId: p.id, reason, parked: false });
                  return reason === null;
                });
          const failed = await failedWorkers(
            trx,
            allowed.filter((p) => p.attempt > 0).map((p) => p.id),
          );
          const jobs = allowed.map((p) => {
            const failedOn = failed.get(p.id);
            return failedOn ? { ...p, failedOn } : p;
          });
          const decision = ledger.placeAndReserve(jobs, workers, {
            inOrder: true,
            scores: true,
            explain: explainLeft,
            // Parked for its static filters: read once, so explained whenever it is.
            explainParked: explainParkedLeft,
          });
          for (const u of decision.unplaced) {
            if (u.explanation === undefined) continue;
            if (u.parked) explainParkedLeft--;
            else explainLeft--;
          }
          // A page is read for `limit` slots (each tenant's first `limit` rows), so its fair order
          // holds that far; past it, one tenant's rows may be all that is left. Slots freed since
          // the page was sized go to the next cycle, which reads the tenants' heads afresh.
          const deferred =
            decision.placements.length > limit ? decision.placements.splice(limit) : [];
          for (const p of deferred)
            ledger.cancel(p.workloadId, rows.get(p.workloadId)!.attempt + 1);
          decided.push(...decision.placements);
          unplaced.push(...overQuota);
          unclaim(); // the reservations just made take its place
          for (const { workloadId, workerId } of decision.placements) {
            const row = rows.get(workloadId)!;
            reserved.push({ id: workloadId, attempt: row.attempt + 1 });
            placements.push({ id: workloadId, attempt: row.attempt, workerId });
          }
          // What it placed counts into the tenants' shares for the next page; nothing else does.
          queue.placed(decision.placements.map((p) => rows.get(p.workloadId)!));
          unplaced.push(...decision.unplaced);
          for (const u of decision.unplaced) if (!u.parked) waiting.push(rows.get(u.workloadId)!);
          if (deferred.length > 0) break; // more: the next cycle goes on at once
          if (page.exhausted) {
            exhausted = true;
            break;
          }
          availability = typeAvailability(workers, ledger);
          const free = availability.freeSlots - this.claimed;
          if (free <= 0 || rows.size >= CYCLE_ROWS_MAX) break;
          // A page is as long as there are free slots: rows it cannot place then are only those
          // that fit nowhere now, whose reasons it writes. One that placed nothing doubles the
          // next, to pass over many such rows in few round trips.
          const next = decision.placements.length === 0 ? Math.max(free, 2 * limit) : free;
          limit = Math.min(PLACEMENT_BATCH, next, CYCLE_ROWS_MAX - rows.size);
          claimFor(limit);
        }
        // Preemption hook: what fits nowhere may take lower-priority runs' place
        // (placement/preemption-pass.ts); the preemptor is placed on the victims' worker now.
        const preempted =
          this.opts.preemption === undefined
            ? undefined
            : await preemptFor(trx, waiting, workers, ledger, this.opts.preemption);
        for (const { row, workerId } of preempted?.placements ?? []) {
          ledger.reserveNext(row, workerId);
          reserved.push({ id: row.id, attempt: row.attempt + 1 });
          placements.push({ id: row.id, attempt: row.attempt, workerId });
        }
        const transitions = await applyPlacements(trx, placements);
        await recordUnplaced(trx, unplaced, rows);
        const applied = new Set(transitions.map((t) => t.row.id));
        await recordExplanations(
          trx,
          decided.filter((d) => applied.has(d.workloadId)),
          unplaced.filter((u) => !applied.has(u.workloadId)), // preemptors placed since
        );
        const parkedTypes = new Set<string>();
        let parked = 0;
        for (const u of unplaced) {
          if (!u.parked) continue;
          parked++;
          parkedTypes.add(rows.get(u.workloadId)!.type);
        }
        const controls = preempted?.controls ?? [];
        return { transitions, considered: rows.size, parkedTypes, parked, exhausted, controls };
      });
    } catch (err) {
      for (const r of reserved) ledger.cancel(r.id, r.attempt);
      backlog.mark(); // its rows are PENDING still, whatever another cycle concluded meanwhile
      throw err;
    } finally {
      unclaim();
    }
    const { transitions, considered, parkedTypes, parked, exhausted, controls } = outcome;
    // A reservation whose update did not apply (the row changed meanwhile) holds nothing.
    const applied = new Set(transitions.map((t) => t.row.id));
    for (const r of reserved) if (!applied.has(r.id)) ledger.cancel(r.id, r.attempt);
    parking.parked(generation, parkedTypes);
    // Committed: now the workers may run them.
    await this.afterCommit(transitions, controls);
    // Preemption hook: a cycle reads only types with a free slot, so the sweep's cycle looks at
    // the heads of the others (types whose workers are all full) for preemptors too; once per
    // sweep, so that a fleet with one full type costs the hot path no extra statement.
    if (preemption !== undefined && sweeping) {
      const now = typeAvailability(workers, ledger);
      const full = [...now.live].filter((t) => !now.open.has(t));
      if (full.length > 0) await this.preemptOnly(workers, preemption, full);
    }
    const placed = transitions.length;
    // It read to the queue's end: what is left does not fit now, and a new submission placed at
    // ingest overtakes nothing this cycle would have placed.
    if (exhausted) backlog.clear(token);
    if (placed > 0 || considered > 0) log.debug({ considered, placed, parked }, 'placement cycle');
    return {
      considered,
      placed,
      parked,
      more: stepAgain || (!exhausted && placed + parked > 0),
    };
  }
}
