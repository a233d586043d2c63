import type { Database } from '@niyanta/db';
import { WORKLOAD_STATUS } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Resources, WorkerUsage } from './placement.js';

interface ActiveRun {
  workerId: string;
  cpu: number;
  memoryMb: number;
  gpu: number;
}

/** A row as far as the ledger cares: where it runs, if it is active, and what it takes. */
export interface LedgerRow {
  id: string;
  status: string;
  worker_id: string | null;
  requirements: Resources;
}

const isActive = (status: string): boolean =>
  status === WORKLOAD_STATUS.SCHEDULED || status === WORKLOAD_STATUS.RUNNING;

/**
 * What every worker's SCHEDULED and RUNNING workloads take, kept in memory so placement needs no
 * aggregate query per cycle. The scheduler is the only writer of `workloads`, so the ledger is
 * exact when it is loaded once at start and told every committed transition after. Placements
 * reserve before their transaction commits (two concurrent deciders must not both take the last
 * slot) and are released if it does not. Memory: one entry per active run.
 */
export class UsageLedger {
  private readonly runs = new Map<string, ActiveRun>();
  private readonly workers = new Map<string, WorkerUsage>();

  /** Replaces the ledger with PostgreSQL's active runs (at start-up). */
  async load(db: Kysely<Database>): Promise<void> {
    const { rows } = await sql<LedgerRow>`
      select id, status, worker_id, requirements from workloads
      where status in ('SCHEDULED', 'RUNNING') and worker_id is not null`.execute(db);
    this.runs.clear();
    this.workers.clear();
    for (const row of rows) this.record(row);
  }

  /** Used slots and resources per worker id (a live view: do not keep it across awaits). */
  usage(): ReadonlyMap<string, WorkerUsage> {
    return this.workers;
  }

  /** Active runs known, for tests and metrics. */
  get size(): number {
    return this.runs.size;
  }

  /** Takes a slot and resources on `workerId` for a workload about to be placed there. */
  reserve(id: string, workerId: string, requirements: Resources): void {
    this.set(id, {
      workerId,
      cpu: requirements.cpu ?? 0,
      memoryMb: requirements.memoryMb ?? 0,
      gpu: requirements.gpu ?? 0,
    });
  }

  /** Gives back what a workload held, if anything (a placement that did not commit). */
  release(id: string): void {
    const run = this.runs.get(id);
    if (!run) return;
    this.runs.delete(id);
    const u = this.workers.get(run.workerId);
    if (!u) return;
    u.slots -= 1;
    u.cpu -= run.cpu;
    u.memoryMb -= run.memoryMb;
    u.gpu -= run.gpu;
    if (u.slots <= 0) this.workers.delete(run.workerId);
  }

  /** Applies committed rows, in order: active rows hold their worker, any other holds nothing. */
  record(row: LedgerRow): void {
    if (isActive(row.status) && row.worker_id !== null) {
      this.reserve(row.id, row.worker_id, row.requirements);
    } else {
      this.release(row.id);
    }
  }

  private set(id: string, run: ActiveRun): void {
    const before = this.runs.get(id);
    if (
      before?.workerId === run.workerId &&
      before.cpu === run.cpu &&
      before.memoryMb === run.memoryMb &&
      before.gpu === run.gpu
    ) {
      return;
    }
    if (before) this.release(id);
    this.runs.set(id, run);
    let u = this.workers.get(run.workerId);
    if (!u) this.workers.set(run.workerId, (u = { slots: 0, cpu: 0, memoryMb: 0, gpu: 0 }));
    u.slots += 1;
    u.cpu += run.cpu;
    u.memoryMb += run.memoryMb;
    u.gpu += run.gpu;
  }
}
