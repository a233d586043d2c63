import { PREPARED } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Transaction } from 'kysely';
import type { Resources } from './placement/fit.js';
import type { Placement } from '@niyanta/messages';

/** A PENDING workload as the placer reads it. */
export interface PendingRow {
  id: string;
  tenant: string;
  type: string;
  priority: number;
  attempt: number;
  requirements: Resources;
  labels: Record<string, string>;
  placement: Placement | null;
  pending_reason: string | null;
  /** When it became due (ms): created, or its runAt or retry time if later; for aging. */
  due_ms: number;
  concurrency_key: string | null;
  concurrency_limit: number | null;
  ordered: boolean;
}

/** The columns of a {@link PendingRow}, as every queue read selects them. */
const PENDING_COLUMNS =
  sql.raw(`id, tenant, type, priority, attempt, requirements, labels, placement,
  pending_reason,
  (extract(epoch from greatest(created_at, coalesce(run_at, created_at))) * 1000)::float8 as due_ms,
  concurrency_key, concurrency_limit, ordered`);

/** Where a page of the queue starts: after this row, in queue order. */
export interface QueueKey {
  priority: number;
  id: string;
}

/**
 * One page of the queue: due PENDING workloads of `open` types, highest priority first, then
 * oldest, after `after` (the first page when undefined), locked for this transaction (SKIP
 * LOCKED). The queue index `workloads_queue` gives the order and holds no parked row, so parked
 * workloads cost nothing here. Every connection prices sorts out (libs/db), so stale statistics
 * (a young, fast-growing table) cannot pick a scan of every PENDING row plus a sort instead.
 * Workloads of `skipTenants` (tenants at their maxRunning) are left out.
 */
export async function selectPending(
  trx: Transaction<Database>,
  open: readonly string[],
  limit: number,
  after: QueueKey | undefined,
  skipTenants: readonly string[] = [],
): Promise<PendingRow[]> {
  if (after === undefined) {
    const { rows } = await sql<PendingRow>`${PREPARED}
      select ${PENDING_COLUMNS}
      from workloads
      where status = 'PENDING' and not parked and (run_at is null or run_at <= now())
        and type = any(${open}::text[]) and not (tenant = any(${skipTenants}::text[]))
      order by priority desc, id
      limit ${limit}
      for update skip locked`.execute(trx);
    return rows;
  }
  // `priority <= p` bounds the index scan; the rest of the key is a filter on that one priority.
  const { rows } = await sql<PendingRow>`${PREPARED}
    select ${PENDING_COLUMNS}
    from workloads
    where status = 'PENDING' and not parked and (run_at is null or run_at <= now())
      and type = any(${open}::text[]) and not (tenant = any(${skipTenants}::text[]))
      and priority <= ${after.priority} and (priority < ${after.priority} or id > ${after.id}::uuid)
    order by priority desc, id
    limit ${limit}
    for update skip locked`.execute(trx);
  return rows;
}

/** Where a tenant's next page of the queue starts: after this row, in its queue order. */
export interface TenantQueueKey extends QueueKey {
  tenant: string;
}

/** The order a tenant's head is read in: its queue order, or oldest first (for aging). */
export const HEAD_ORDERS = { queue: 'queue', age: 'age' } as const;
export type HeadOrder = (typeof HEAD_ORDERS)[keyof typeof HEAD_ORDERS];

/**
 * The head of every tenant's queue: for each tenant with due PENDING workloads of `open` types,
 * its first `perTenant` in queue order (priority desc, then oldest) or, with `order` age, its
 * oldest; locked for this transaction (SKIP LOCKED) unless `lock` is false. The tenants are found by a skip scan of
 * `workloads_tenant_queue` (one index probe per tenant, however many workloads each has), so a
 * tenant with 100,000 PENDING costs another tenant's head nothing. Tenants in `skipTenants` are
 * left out.
 */
export async function selectTenantHeads(
  trx: Transaction<Database>,
  open: readonly string[],
  perTenant: number,
  skipTenants: readonly string[],
  order: HeadOrder = HEAD_ORDERS.queue,
  lock = true,
): Promise<PendingRow[]> {
  const orderBy = order === HEAD_ORDERS.age ? sql`w.id` : sql`w.priority desc, w.id`;
  const locking = lock ? sql`for update skip locked` : sql``;
  const { rows } = await sql<PendingRow>`
    with recursive queued(tenant) as (
      (select tenant from workloads where status = 'PENDING' and not parked
        order by tenant limit 1)
      union all
      select (select w.tenant from workloads w
          where w.status = 'PENDING' and not w.parked and w.tenant > q.tenant
          order by w.tenant limit 1)
      from queued q where q.tenant is not null
    )
    select h.* from queued q cross join lateral (
      select ${PENDING_COLUMNS}
      from workloads w
      where w.tenant = q.tenant and not (q.tenant = any(${skipTenants}::text[]))
        and w.status = 'PENDING' and not w.parked and (w.run_at is null or w.run_at <= now())
        and w.type = any(${open}::text[])
      order by ${orderBy}
      limit ${perTenant}
      ${locking}
    ) h
    where q.tenant is not null`.execute(trx);
  return rows;
}

/**
 * The next page of each tenant's queue after `afters` (one key per tenant), up to `perTenant`
 * rows each, in queue order; locked for this transaction (SKIP LOCKED).
 */
export async function selectTenantPages(
  trx: Transaction<Database>,
  open: readonly string[],
  perTenant: number,
  afters: readonly TenantQueueKey[],
): Promise<PendingRow[]> {
  if (afters.length === 0) return [];
  const { rows } = await sql<PendingRow>`
    select h.* from jsonb_to_recordset(${JSON.stringify(afters)}::jsonb)
      as a(tenant text, priority int, id uuid)
    cross join lateral (
      select ${PENDING_COLUMNS}
      from workloads w
      where w.tenant = a.tenant and w.status = 'PENDING' and not w.parked
        and (w.run_at is null or w.run_at <= now()) and w.type = any(${open}::text[])
        and w.priority <= a.priority and (w.priority < a.priority or w.id > a.id)
      order by w.priority desc, w.id
      limit ${perTenant}
      for update skip locked
    ) h`.execute(trx);
  return rows;
}

/** Due PENDING workloads of `open` types among `ids`, locked for this transaction (SKIP LOCKED). */
export async function selectPendingByIds(
  trx: Transaction<Database>,
  open: readonly string[],
  ids: readonly string[],
): Promise<PendingRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<PendingRow>`
    select ${PENDING_COLUMNS}
    from workloads
    where id = any(${ids}::uuid[]) and status = 'PENDING' and not parked
      and (run_at is null or run_at <= now()) and type = any(${open}::text[])
    order by id
    for update skip locked`.execute(trx);
  return rows;
}
