import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import { keyOf } from './concurrency.js';
import type { KeyState } from './concurrency.js';
import type { ShareVector } from './fair-share.js';

/** How long tenants' weights are trusted before they are read again. */
export const WEIGHTS_TTL_MS = 1000;

/**
 * The advisory lock a placement transaction holds while it shares capacity between tenants or
 * places workloads with a concurrency key: two cycles in flight at once could otherwise both
 * count what a tenant (or a key) runs before either committed, and together give it more than
 * its share (or pass the key's limit). Only cycles with several tenants' or keyed work take it;
 * held to the end of the transaction, so what it reads next is what the other one committed.
 */
export const FAIR_PLACEMENT_LOCK_KEY = 0x6e69_6b31; // 'nik1'

/** Takes {@link FAIR_PLACEMENT_LOCK_KEY} (again, harmlessly, if this transaction holds it). */
export async function lockFairPlacement(trx: Transaction<Database>): Promise<void> {
  await sql`select pg_advisory_xact_lock(${FAIR_PLACEMENT_LOCK_KEY})`.execute(trx);
}

/**
 * What each tenant's SCHEDULED and RUNNING workloads take, read under
 * {@link FAIR_PLACEMENT_LOCK_KEY}.
 */
export async function readTenantUsage(
  trx: Transaction<Database>,
  tenants: readonly string[],
): Promise<Map<string, ShareVector>> {
  await lockFairPlacement(trx);
  const { rows } = await sql<{
    tenant: string;
    slots: number;
    cpu: number;
    memory_mb: number;
    gpu: number;
  }>`
    select tenant, count(*)::int as slots,
      coalesce(sum((requirements->>'cpu')::float8), 0)::float8 as cpu,
      coalesce(sum((requirements->>'memoryMb')::float8), 0)::float8 as memory_mb,
      coalesce(sum((requirements->>'gpu')::float8), 0)::float8 as gpu
    from workloads
    where status in ('SCHEDULED', 'RUNNING') and worker_id is not null
      and tenant = any(${tenants}::text[])
    group by tenant`.execute(trx);
  return new Map(
    rows.map((r) => [
      r.tenant,
      { slots: r.slots, cpu: r.cpu, memoryMb: r.memory_mb, gpu: r.gpu } satisfies ShareVector,
    ]),
  );
}

/** Tenants' fair-share weights (the API writes them), read at most once per WEIGHTS_TTL_MS. */
export class TenantWeights {
  private weights = new Map<string, number>();
  private readAt = -Infinity;

  /**
   * The weights, read on `executor` (a placement's transaction) when stale or when one of
   * `tenants` is not known yet (a tenant just created).
   */
  async get(
    executor: Kysely<Database>,
    tenants: readonly string[] = [],
  ): Promise<ReadonlyMap<string, number>> {
    const unknown = tenants.some((t) => !this.weights.has(t));
    if (unknown || Date.now() - this.readAt >= WEIGHTS_TTL_MS) {
      const rows = await executor.selectFrom('tenants').select(['id', 'weight']).execute();
      this.weights = new Map(rows.map((r) => [r.id, r.weight]));
      this.readAt = Date.now();
    }
    return this.weights;
  }
}

/** A tenant's concurrency key, as a placement pass asks about it. */
export interface KeyQuery {
  tenant: string;
  key: string;
  ordered: boolean;
}

/**
 * The state of each key: its SCHEDULED and RUNNING count (`workloads_concurrency_active`) and, for
 * an ordered key, its oldest unfinished workload (`workloads_ordered_open`). Takes
 * {@link FAIR_PLACEMENT_LOCK_KEY} first, so what it reads stays true until this transaction ends.
 */
export async function readKeyStates(
  trx: Transaction<Database>,
  keys: readonly KeyQuery[],
): Promise<Map<string, KeyState>> {
  if (keys.length === 0) return new Map();
  await lockFairPlacement(trx);
  const { rows } = await sql<{
    tenant: string;
    key: string;
    active: number;
    oldest_open: string | null;
  }>`
    select k.tenant, k.key,
      (select count(*) from workloads w
        where w.tenant = k.tenant and w.concurrency_key = k.key
          and w.status in ('SCHEDULED', 'RUNNING'))::int as active,
      case when k.ordered then (select w.id from workloads w
        where w.ordered and w.tenant = k.tenant and w.concurrency_key = k.key
          and w.status in ('PENDING', 'SCHEDULED', 'RUNNING', 'PAUSED', 'WAITING')
        order by w.id limit 1) end as oldest_open
    from jsonb_to_recordset(${JSON.stringify(keys)}::jsonb) as k(tenant text, key text, ordered boolean)`.execute(
    trx,
  );
  return new Map(
    rows.map((r) => [
      keyOf(r.tenant, r.key),
      r.oldest_open === null
        ? { active: r.active }
        : { active: r.active, oldestOpen: r.oldest_open },
    ]),
  );
}
