import type { Database } from '@niyanta/db';
import type { Transaction } from 'kysely';
import {
  HEAD_ORDERS,
  selectPendingByIds,
  selectTenantHeads,
  selectTenantPages,
} from '../pending-queue.js';
import type { PendingRow, TenantQueueKey } from '../pending-queue.js';
import type { Unplaced } from './place-workloads.js';
import { byEffectivePriority } from './aging.js';
import { ConcurrencyGate, keyOf } from './concurrency.js';
import { fairOrder, fleetCapacity, NO_SHARE } from './fair-share.js';
import type { Shareable, ShareVector } from './fair-share.js';
import { readKeyStates, readTenantUsage, TenantWeights } from './queue-state.js';
import type { KeyQuery } from './queue-state.js';

/** One page of a pass over the tenants' queues. */
export interface QueuePage {
  /** Every row this page read (locked for the pass's transaction). */
  read: PendingRow[];
  /**
   * The rows free capacity is offered to, in order: across tenants by fair share (DRF), within
   * a tenant by effective priority then age; none held back by a concurrency key.
   */
  offered: PendingRow[];
  /** Rows a concurrency key holds back, with the reason. */
  held: Unplaced[];
  /** Every tenant's queue has been read to its end. */
  exhausted: boolean;
}

/** The capacity a pass shares out: the live workers'. */
export interface PassWorkers {
  capacity: { slots: number; cpu: number; memoryMb: number; gpu: number };
}

/**
 * The queue as placement reads it: per tenant (each tenant's head, a keyset page after it), so one
 * tenant's backlog never stands in front of another's first workload; ordered by fair share and
 * aging; gated by concurrency keys.
 */
export class FairQueue {
  private readonly weights: TenantWeights;

  constructor(
    private readonly opts: {
      /** PRIORITY_AGING_MS (0: off). */
      agingMs: number;
      now?: () => number;
    },
  ) {
    this.weights = new TenantWeights();
  }

  /** A pass over the queue inside one placement transaction. */
  pass(
    trx: Transaction<Database>,
    workers: readonly PassWorkers[],
    skipTenants: readonly string[],
    /** false: read without locking (a look that places only what it locks by id later). */
    lock = true,
  ): FairPass {
    return new FairPass(trx, {
      lock,
      agingMs: this.opts.agingMs,
      now: this.opts.now ?? Date.now,
      weights: this.weights,
      capacity: fleetCapacity(workers),
      skipTenants,
    });
  }
}

/** One pass: pages of the tenants' queues until each is read to its end. */
export class FairPass {
  private first = true;
  private readonly afters = new Map<string, TenantQueueKey>();
  private readonly seen = new Set<string>();
  /** What each tenant runs, plus what this pass has offered it so far. */
  private usage: Map<string, ShareVector> | undefined;
  private readonly gate = new ConcurrencyGate(new Map());
  private readonly knownKeys = new Set<string>();

  constructor(
    private readonly trx: Transaction<Database>,
    private readonly opts: {
      agingMs: number;
      now: () => number;
      weights: TenantWeights;
      capacity: ShareVector;
      skipTenants: readonly string[];
      lock: boolean;
    },
  ) {}

  /** The next page: up to `perTenant` rows of each tenant's queue, of `open` types. */
  async next(perTenant: number, open: readonly string[]): Promise<QueuePage> {
    const { trx } = this;
    let inQueueOrder: PendingRow[];
    let extra: PendingRow[] = [];
    if (this.first) {
      this.first = false;
      const { skipTenants, lock } = this.opts;
      inQueueOrder = await selectTenantHeads(
        trx,
        open,
        perTenant,
        skipTenants,
        HEAD_ORDERS.queue,
        lock,
      );
      // Aging lifts old work: its oldest rows are candidates too, whatever their priority.
      if (this.opts.agingMs > 0)
        extra = await selectTenantHeads(trx, open, perTenant, skipTenants, HEAD_ORDERS.age, lock);
    } else {
      inQueueOrder = await selectTenantPages(trx, open, perTenant, [...this.afters.values()]);
      this.afters.clear();
    }
    this.advance(inQueueOrder, perTenant);
    const read = this.fresh([...inQueueOrder, ...extra]);
    read.push(...(await this.orderedHeads(read, open)));

    const byTenant = new Map<string, PendingRow[]>();
    for (const row of read) {
      let list = byTenant.get(row.tenant);
      if (!list) byTenant.set(row.tenant, (list = []));
      list.push(row);
    }
    const now = this.opts.now();
    for (const [tenant, list] of byTenant)
      byTenant.set(tenant, byEffectivePriority(list, now, this.opts.agingMs));
    // One tenant: its own order is the order (no share to weigh, nothing to read).
    const usage = await this.tenantUsage([...byTenant.keys()]);
    const ordered =
      byTenant.size === 1 && this.usage!.size <= 1
        ? [...byTenant.values()][0]!
        : fairOrder(
            byTenant,
            usage,
            await this.opts.weights.get(trx, [...byTenant.keys()]),
            this.opts.capacity,
          );

    const offered: PendingRow[] = [];
    const held: Unplaced[] = [];
    for (const row of ordered) {
      const reason = this.gate.admit(row);
      if (reason !== null) {
        held.push({ workloadId: row.id, reason, parked: false });
        continue;
      }
      offered.push(row);
    }
    return { read, offered, held, exhausted: this.afters.size === 0 };
  }

  /**
   * Rows of this pass's pages that were placed: they count into their tenants' shares for the
   * pages after. Only these: a row offered but not placed (no room left) takes nothing, and
   * counting it would push its tenant back in the next page's order.
   */
  placed(rows: Iterable<Shareable>): void {
    if (this.usage === undefined) return;
    for (const row of rows) addTo(this.usage, row);
  }

  /** Keys after the last row of each tenant whose page was full: its queue may go on. */
  private advance(inQueueOrder: readonly PendingRow[], perTenant: number): void {
    const counts = new Map<string, number>();
    for (const row of inQueueOrder) {
      counts.set(row.tenant, (counts.get(row.tenant) ?? 0) + 1);
      const last = this.afters.get(row.tenant);
      if (last === undefined || inQueueOrderAfter(row, last))
        this.afters.set(row.tenant, { tenant: row.tenant, priority: row.priority, id: row.id });
    }
    for (const [tenant, n] of counts) if (n < perTenant) this.afters.delete(tenant);
  }

  /** Rows not read before in this pass. */
  private fresh(rows: readonly PendingRow[]): PendingRow[] {
    const out: PendingRow[] = [];
    for (const row of rows) {
      if (this.seen.has(row.id)) continue;
      this.seen.add(row.id);
      out.push(row);
    }
    return out;
  }

  /**
   * Learns the state of the concurrency keys `rows` carry, and returns the oldest unfinished
   * workload of each ordered key when it is PENDING and was not read (the only one of its key that
   * may start, wherever it stands in its tenant's queue).
   */
  private async orderedHeads(rows: readonly PendingRow[], open: readonly string[]) {
    const queries: KeyQuery[] = [];
    for (const row of rows) {
      if (row.concurrency_key === null) continue;
      const k = keyOf(row.tenant, row.concurrency_key);
      if (this.knownKeys.has(k)) continue;
      this.knownKeys.add(k);
      queries.push({ tenant: row.tenant, key: row.concurrency_key, ordered: row.ordered });
    }
    if (queries.length === 0) return [];
    const states = await readKeyStates(this.trx, queries);
    const missing: string[] = [];
    for (const [k, state] of states) {
      this.gate.learn(k, state);
      if (state.oldestOpen !== undefined && !this.seen.has(state.oldestOpen))
        missing.push(state.oldestOpen);
    }
    return this.fresh(await selectPendingByIds(this.trx, open, missing));
  }

  /** What each tenant runs (read once per tenant and pass; not needed for one tenant alone). */
  private async tenantUsage(tenants: readonly string[]): Promise<Map<string, ShareVector>> {
    if (this.usage === undefined) this.usage = new Map();
    const unknown = tenants.filter((t) => !this.usage!.has(t));
    if (unknown.length > 0 && this.usage.size + unknown.length > 1) {
      const read = await readTenantUsage(this.trx, unknown);
      for (const t of unknown) this.usage.set(t, read.get(t) ?? { ...NO_SHARE });
    }
    return this.usage;
  }
}

/** Whether `row` comes after `key` in queue order (priority desc, then id). */
function inQueueOrderAfter(row: PendingRow, key: TenantQueueKey): boolean {
  return row.priority < key.priority || (row.priority === key.priority && row.id > key.id);
}

/** Counts a row placed in this pass into its tenant's share. */
function addTo(usage: Map<string, ShareVector>, row: Shareable): void {
  const u = usage.get(row.tenant) ?? { ...NO_SHARE };
  usage.set(row.tenant, {
    slots: u.slots + 1,
    cpu: u.cpu + (row.requirements.cpu ?? 0),
    memoryMb: u.memoryMb + (row.requirements.memoryMb ?? 0),
    gpu: u.gpu + (row.requirements.gpu ?? 0),
  });
}
