import type { Database } from '@niyanta/db';
import { WORKLOAD_STATUS } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { placeWorkloads } from './place-workloads.js';
import type { AntiAffinityTerm } from './framework.js';
import type {
  PendingWorkload,
  PlaceOptions,
  PlacementResult,
  PlacementWorker,
  Resources,
  RunningWorkload,
  Strategy,
  WorkerUsage,
} from './place-workloads.js';

interface ActiveRun {
  workerId: string;
  /** When it was reserved (ms): a reservation younger than a resync's query may not be committed. */
  since: number;
  /** The attempt it was placed for: what a later row of the workload must exceed to free it. */
  attempt: number;
  cpu: number;
  memoryMb: number;
  gpu: number;
  /** Its labels, for anti-affinity and topology spread. */
  labels: Readonly<Record<string, string>>;
  /** Its priority, for preemption (see `hasRunAtOrBelow`). */
  priority: number;
  /** Its anti-affinity terms, which keep matching workloads off its worker or zone. */
  antiAffinity?: readonly AntiAffinityTerm[];
}

/**
 * A reservation at least this old is committed or cancelled by the time a resync queries: one
 * younger may belong to a placement transaction still open, invisible to the query.
 */
const RESYNC_MIN_AGE_MS = 5_000;

/** A SCHEDULED or RUNNING workload, with what it takes. */
export interface ActiveRow {
  id: string;
  worker_id: string;
  attempt: number;
  requirements: Resources;
  labels?: Record<string, string>;
  priority?: number;
  anti_affinity?: AntiAffinityTerm[] | null;
}

async function activeRuns(db: Kysely<Database>): Promise<ActiveRow[]> {
  const { rows } = await sql<ActiveRow>`
    select id, worker_id, attempt, requirements, labels, priority,
      placement->'antiAffinity' as anti_affinity
    from workloads
    where status in ('SCHEDULED', 'RUNNING') and worker_id is not null`.execute(db);
  return rows;
}

/** A row as far as the ledger cares: its status and attempt. */
export interface LedgerRow {
  id: string;
  status: string;
  attempt: number;
}

const isActive = (status: string): boolean =>
  status === WORKLOAD_STATUS.SCHEDULED || status === WORKLOAD_STATUS.RUNNING;

/**
 * What every worker's SCHEDULED and RUNNING workloads take, kept in memory so placement needs no
 * aggregate query per cycle. The scheduler is the only writer of `workloads`: the ledger is
 * loaded once at start; a placement reserves when it is decided (two concurrent deciders must not
 * both take the last slot) and cancels if its transaction does not commit; a committed row that
 * is no longer active frees it. Handlers finish in any order, so a row frees only a run of an
 * earlier attempt, or of the same attempt (placement raises the attempt): a late row of attempt 1
 * never frees the slot its retry, attempt 2, was just given. Memory: one entry per active run.
 */
export class UsageLedger {
  private readonly runs = new Map<string, ActiveRun>();
  /** The runs with anti-affinity terms: every placement call reads them (symmetry). */
  private readonly repelling = new Map<string, ActiveRun>();
  private readonly workers = new Map<string, WorkerUsage>();
  /** Active runs by priority (few distinct values): whether any could be preempted at all. */
  private readonly priorities = new Map<number, number>();
  /** Runs freed while a resync's query runs: its older rows must not revive them. */
  private readonly freed = new Set<string>();
  private resyncing = false;

  constructor(
    private readonly now: () => number = Date.now,
    /** The strategy of workloads that do not name one (PLACEMENT_STRATEGY). */
    private readonly strategy: Strategy = 'spread',
  ) {}

  /** Replaces the ledger with PostgreSQL's active runs (at start-up). */
  async load(db: Kysely<Database>): Promise<void> {
    const rows = await activeRuns(db);
    this.runs.clear();
    this.repelling.clear();
    this.workers.clear();
    this.priorities.clear();
    for (const row of rows) this.reserveActive(row);
  }

  /**
   * A safety net against drift: makes the ledger agree with PostgreSQL's active runs, leaving
   * alone what changed since the query began (reservations made since, rows freed since). Returns
   * how many entries it corrected (0 when the ledger was exact, as it should be).
   */
  async resync(db: Kysely<Database>): Promise<number> {
    const began = this.now();
    this.resyncing = true;
    let rows: ActiveRow[];
    try {
      rows = await activeRuns(db);
    } finally {
      this.resyncing = false;
    }
    return this.correct(rows, began);
  }

  /** `resync`'s comparison, given the active rows a query that began at `began` returned. */
  correct(rows: readonly ActiveRow[], began: number): number {
    const active = new Set(rows.map((r) => r.id));
    let fixed = 0;
    for (const [id, run] of [...this.runs]) {
      if (run.since < began - RESYNC_MIN_AGE_MS && !active.has(id)) {
        this.remove(id);
        fixed++;
      }
    }
    for (const row of rows) {
      if (!this.runs.has(row.id) && !this.freed.has(row.id)) {
        this.reserveActive(row);
        fixed++;
      }
    }
    this.freed.clear();
    return fixed;
  }

  /** Used slots and resources per worker id (a live view: do not keep it across awaits). */
  usage(): ReadonlyMap<string, WorkerUsage> {
    return this.workers;
  }

  /** Whether the workload holds a run. */
  has(id: string): boolean {
    return this.runs.has(id);
  }

  /** Active runs known, for tests and metrics. */
  get size(): number {
    return this.runs.size;
  }

  /** The active runs with their labels, for anti-affinity and topology spread. */
  *running(): Iterable<RunningWorkload> {
    for (const run of this.runs.values()) yield run;
  }

  /**
   * Whether some active run has a priority of at most `priority`: preemption looks for victims
   * (in PostgreSQL, locking them) only then. A run reserved without its priority counts as the
   * lowest.
   */
  hasRunAtOrBelow(priority: number): boolean {
    for (const p of this.priorities.keys()) if (p <= priority) return true;
    return false;
  }

  /**
   * Takes a slot and resources on `workerId` for attempt `attempt` of a workload (of `priority`;
   * unknown: the lowest).
   */
  reserve(
    id: string,
    workerId: string,
    requirements: Resources,
    attempt: number,
    labels: Readonly<Record<string, string>> = {},
    priority: number = Number.NEGATIVE_INFINITY,
    antiAffinity?: readonly AntiAffinityTerm[],
  ): void {
    this.remove(id);
    const run: ActiveRun = {
      workerId,
      since: this.now(),
      attempt,
      cpu: requirements.cpu ?? 0,
      memoryMb: requirements.memoryMb ?? 0,
      gpu: requirements.gpu ?? 0,
      labels,
      priority,
    };
    this.runs.set(id, run);
    this.priorities.set(priority, (this.priorities.get(priority) ?? 0) + 1);
    if (antiAffinity !== undefined && antiAffinity.length > 0) {
      run.antiAffinity = antiAffinity;
      this.repelling.set(id, run);
    }
    let u = this.workers.get(workerId);
    if (!u) this.workers.set(workerId, (u = { slots: 0, cpu: 0, memoryMb: 0, gpu: 0 }));
    u.slots += 1;
    u.cpu += requirements.cpu ?? 0;
    u.memoryMb += requirements.memoryMb ?? 0;
    u.gpu += requirements.gpu ?? 0;
  }

  /** Reserves for a workload's next attempt (`attempt + 1`, the fencing token it is placed with). */
  reserveNext(p: PendingWorkload & { attempt: number }, workerId: string): void {
    this.reserve(
      p.id,
      workerId,
      p.requirements,
      p.attempt + 1,
      p.labels,
      p.priority,
      p.placement?.antiAffinity,
    );
  }

  /** Reserves what an active row of PostgreSQL holds. */
  private reserveActive(row: ActiveRow): void {
    this.reserve(
      row.id,
      row.worker_id,
      row.requirements,
      row.attempt,
      row.labels,
      row.priority,
      row.anti_affinity ?? undefined,
    );
  }

  /**
   * Decides where `pending` runs on what is free now (`inOrder`: in the order given, see
   * `placeWorkloads`), and reserves every placement for the
   * workload's next attempt (`attempt + 1`, the fencing token its assignment will carry).
   */
  placeAndReserve(
    pending: readonly (PendingWorkload & { attempt: number })[],
    workers: readonly PlacementWorker[],
    options: Pick<PlaceOptions, 'inOrder' | 'scores' | 'explain' | 'explainParked'> = {},
  ): PlacementResult {
    // Label counts are read only by workloads with anti-affinity or spread terms; the runs with
    // anti-affinity terms of their own keep matching workloads off in any case.
    const counted = pending.some((p) => p.placement?.antiAffinity || p.placement?.spread);
    const running = counted
      ? this.running()
      : this.repelling.size > 0
        ? this.repelling.values()
        : undefined;
    const decision = placeWorkloads(pending, workers, this.workers, {
      ...options,
      strategy: this.strategy,
      ...(running === undefined ? {} : { running }),
    });
    const byId = new Map(pending.map((p) => [p.id, p]));
    for (const { workloadId, workerId } of decision.placements) {
      const p = byId.get(workloadId)!;
      this.reserveNext(p, workerId);
    }
    return decision;
  }

  /** Undoes the reservation of `attempt` (its placement did not commit); a newer one stays. */
  cancel(id: string, attempt: number): void {
    if (this.runs.get(id)?.attempt === attempt) this.remove(id);
  }

  /**
   * A committed row: one that is no longer SCHEDULED or RUNNING frees its run. Active rows change
   * nothing: their slot was reserved when the placement was decided.
   */
  record(row: LedgerRow): void {
    if (isActive(row.status)) return;
    const run = this.runs.get(row.id);
    if (run !== undefined && run.attempt <= row.attempt) {
      this.remove(row.id);
      if (this.resyncing) this.freed.add(row.id);
    }
  }

  private remove(id: string): void {
    const run = this.runs.get(id);
    if (!run) return;
    this.runs.delete(id);
    this.repelling.delete(id);
    const left = (this.priorities.get(run.priority) ?? 1) - 1;
    if (left > 0) this.priorities.set(run.priority, left);
    else this.priorities.delete(run.priority);
    const u = this.workers.get(run.workerId);
    if (!u) return;
    u.slots -= 1;
    u.cpu -= run.cpu;
    u.memoryMb -= run.memoryMb;
    u.gpu -= run.gpu;
    if (u.slots <= 0) this.workers.delete(run.workerId);
  }
}
