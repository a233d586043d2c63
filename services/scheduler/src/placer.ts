import { PREPARED } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { publishAssignments } from './assignments.js';
import type { Logger } from './logger.js';
import type { PlacementWorker, Resources } from './placement.js';
import { applyPlacements } from './placed-runs.js';
import { BLOCKED_REASON_TEMPLATES, typeAvailability } from './blocked-types.js';
import type { TypeAvailability } from './blocked-types.js';
import type { Placement } from './placed-runs.js';
import { publishAfterCommit } from './transitions.js';
import type { Bus, Transition } from './transitions.js';

/** Pending workloads one cycle looks at. */
export const PLACEMENT_BATCH = 1000;

interface PendingRow {
  id: string;
  tenant: string;
  type: string;
  priority: number;
  attempt: number;
  requirements: Resources;
  input: unknown;
  timeout_seconds: number | null;
  pending_reason: string | null;
  trace_parent: string | null;
}

/** The result of one placement cycle. */
export interface CycleResult {
  considered: number;
  placed: number;
  /** The cycle filled its whole limit: more may be waiting and fit. */
  more: boolean;
}

/**
 * Cycles running at once. Two make a pipeline: one selects and decides while the previous one
 * publishes its assignments and commits (most of a cycle is waiting on PostgreSQL and the
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

  constructor(
    private readonly opts: Bus & {
      db: Kysely<Database>;
      liveWorkers: () => readonly PlacementWorker[];
      sweepMs: number;
      log: Logger;
    },
  ) {}

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
   * One placement cycle in one transaction; exposed for tests. It looks at no more pending
   * workloads than there are free slots (by the ledger), so a long queue costs nothing while
   * every worker is busy.
   */
  async cycle(): Promise<CycleResult> {
    const { db, js, ledger, backlog, log } = this.opts;
    const workers = this.opts.liveWorkers();
    const availability = typeAvailability(workers, ledger);
    if (this.explainDue) {
      this.explainDue = false;
      await explainBlockedTypes(db, availability);
    }
    this.typesFull = availability.open.size < availability.live.size;
    const limit = Math.min(PLACEMENT_BATCH, availability.freeSlots - this.claimed);
    if (limit <= 0) return { considered: 0, placed: 0, more: false };

    const token = backlog.begin();
    const reserved: { id: string; attempt: number }[] = [];
    let claim = limit; // given back once this cycle's decision is reserved in the ledger
    this.claimed += claim;
    const unclaim = () => {
      this.claimed -= claim;
      claim = 0;
    };
    let outcome: { transitions: Transition[]; considered: number };
    try {
      outcome = await db.transaction().execute(async (trx) => {
        // The queue index gives the order: every connection prices sorts out (libs/db), so
        // stale statistics (a young, fast-growing table) cannot pick a scan of every PENDING
        // row plus a sort instead.
        const { rows: pending } = await sql<PendingRow>`${PREPARED}
          select id, tenant, type, priority, attempt, requirements, input, timeout_seconds, pending_reason, trace_parent
          from workloads
          where status = 'PENDING' and (run_at is null or run_at <= now()) and type = any(${[...availability.open]}::text[])
          order by priority desc, id
          limit ${limit}
          for update skip locked`.execute(trx);
        if (pending.length === 0) return { transitions: [] as Transition[], considered: 0 };

        const decision = ledger.placeAndReserve(pending, workers);
        unclaim(); // the reservations just made take its place
        const byId = new Map(pending.map((p) => [p.id, p]));
        const placements: Placement[] = decision.placements.map(({ workloadId, workerId }) => {
          const row = byId.get(workloadId)!;
          reserved.push({ id: workloadId, attempt: row.attempt + 1 });
          return { id: workloadId, attempt: row.attempt, workerId };
        });
        const transitions = await applyPlacements(trx, placements);

        const changedReasons = decision.unplaced.filter(
          (u) => byId.get(u.workloadId)!.pending_reason !== u.reason,
        );
        if (changedReasons.length > 0) {
          await sql`
            update workloads w set pending_reason = v.reason, updated_at = now()
            from jsonb_to_recordset(${JSON.stringify(changedReasons.map((u) => ({ id: u.workloadId, reason: u.reason })))}::jsonb)
              as v(id uuid, reason text)
            where w.id = v.id and w.status = 'PENDING'
              and w.id = any(${changedReasons.map((u) => u.workloadId)}::uuid[])`.execute(trx);
        }
        await publishAssignments(trx, js, transitions, byId, log);
        return { transitions, considered: pending.length };
      });
    } catch (err) {
      for (const r of reserved) ledger.cancel(r.id, r.attempt);
      backlog.mark(); // its rows are PENDING still, whatever another cycle concluded meanwhile
      throw err;
    } finally {
      unclaim();
    }
    const { transitions, considered } = outcome;
    // A reservation whose update did not apply (the row changed meanwhile) holds nothing.
    const applied = new Set(transitions.map((t) => t.row.id));
    for (const r of reserved) if (!applied.has(r.id)) ledger.cancel(r.id, r.attempt);
    await publishAfterCommit(this.opts, transitions, log);
    const placed = transitions.length;
    // Fewer rows than the limit means it saw every due one it could place: what is left does not
    // fit now, and a new submission placed at ingest overtakes nothing this cycle would have placed.
    if (considered < limit) backlog.clear(token);
    if (placed > 0 || considered > 0) log.debug({ considered, placed }, 'placement cycle');
    return { considered, placed, more: considered === limit && placed > 0 };
  }
}

/**
 * Sets the pending reason of workloads whose type no live worker handles, or whose workers are
 * all full: the placement query skips them. Bounded per cycle, and only rows whose reason changes:
 * ingest inserts such rows with the same reason already, so in a burst that fills every slot this
 * finds nothing to rewrite (it rewrote up to a quarter of them, one more row version each).
 */
async function explainBlockedTypes(
  db: Kysely<Database>,
  availability: TypeAvailability,
): Promise<void> {
  await sql`
    with stale as (
      select w.id, r.reason
      from workloads w cross join lateral (
        select case when w.type = any(${[...availability.live]}::text[])
          then format(${BLOCKED_REASON_TEMPLATES.full}::text, w.type)
          else format(${BLOCKED_REASON_TEMPLATES.unhandled}::text, w.type) end as reason
      ) r
      where w.status = 'PENDING' and not (w.type = any(${[...availability.open]}::text[]))
        and w.pending_reason is distinct from r.reason
      limit ${PLACEMENT_BATCH}
      for update of w skip locked
    )
    update workloads w set pending_reason = s.reason, updated_at = now()
    from stale s where w.id = s.id`.execute(db);
}
