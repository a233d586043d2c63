import { sql } from 'kysely';
import { toWorkload } from '@niyanta/db';
import type { WorkloadRow } from '@niyanta/db';
import type { WorkloadStatus, WorkloadV1 } from '@niyanta/messages';
import type { Db } from '@niyanta/runtime';

import { WorkloadNotFoundError } from './errors.js';

type Kysely = Db['db'];

/** Reads of the workloads table (the scheduler writes it; the API only reads). */
export async function getWorkload(
  db: Kysely,
  tenant: string,
  id: string,
): Promise<WorkloadV1 | undefined> {
  const row = await db
    .selectFrom('workloads')
    .selectAll()
    .where('tenant', '=', tenant)
    .where('id', '=', id)
    .executeTakeFirst();
  return row === undefined ? undefined : toWorkload(row);
}

/** The workload, or a 404. */
export async function requireWorkload(db: Kysely, tenant: string, id: string): Promise<WorkloadV1> {
  const workload = await getWorkload(db, tenant, id);
  if (workload === undefined) throw new WorkloadNotFoundError(id);
  return workload;
}

/** The workloads with any of `ids` or any of `keys` (idempotency keys), in one query. */
export async function findWorkloads(
  db: Kysely,
  tenant: string,
  ids: readonly string[],
  keys: readonly string[],
): Promise<WorkloadRow[]> {
  if (ids.length === 0 && keys.length === 0) return [];
  return db
    .selectFrom('workloads')
    .selectAll()
    .where('tenant', '=', tenant)
    .where((eb) => {
      const terms = [];
      if (ids.length > 0) terms.push(eb('id', '=', eb.fn.any(eb.val([...ids]))));
      if (keys.length > 0) terms.push(eb('idempotency_key', '=', eb.fn.any(eb.val([...keys]))));
      return eb.or(terms);
    })
    .execute();
}

/** A page of workloads, newest first (ids are UUIDv7, so id order is creation order). */
export async function listWorkloads(
  db: Kysely,
  tenant: string,
  opts: {
    status?: WorkloadStatus;
    type?: string;
    label?: [string, string];
    beforeId?: string;
    limit: number;
  },
): Promise<{ items: WorkloadV1[]; lastId: string | undefined; more: boolean }> {
  let query = db.selectFrom('workloads').selectAll().where('tenant', '=', tenant);
  if (opts.status !== undefined) query = query.where('status', '=', opts.status);
  if (opts.type !== undefined) query = query.where('type', '=', opts.type);
  if (opts.label !== undefined) {
    const [key, value] = opts.label;
    query = query.where(sql<boolean>`labels @> ${JSON.stringify({ [key]: value })}::jsonb`);
  }
  if (opts.beforeId !== undefined) query = query.where('id', '<', opts.beforeId);
  // One extra row tells whether there is a next page without a count query.
  const rows = await query
    .orderBy('id', 'desc')
    .limit(opts.limit + 1)
    .execute();
  const page = rows.slice(0, opts.limit);
  return { items: page.map(toWorkload), lastId: page.at(-1)?.id, more: rows.length > opts.limit };
}
