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

/** Rows read per query of a list page: a page over large inputs is read a few rows at a time. */
const LIST_CHUNK_ROWS = 50;

/**
 * A page of workloads, newest first (ids are UUIDv7, so id order is creation order). It stops
 * early after the item that takes the items' JSON past `maxBytes` (`more` then says whether rows
 * follow), so a page over large inputs costs about `maxBytes`, not `limit` times the largest.
 */
export async function listWorkloads(
  db: Kysely,
  tenant: string,
  opts: {
    status?: WorkloadStatus;
    type?: string;
    label?: [string, string];
    scheduleId?: string;
    parentId?: string;
    beforeId?: string;
    limit: number;
    maxBytes: number;
  },
): Promise<{ items: WorkloadV1[]; lastId: string | undefined; more: boolean }> {
  let query = db.selectFrom('workloads').selectAll().where('tenant', '=', tenant);
  if (opts.status !== undefined) query = query.where('status', '=', opts.status);
  if (opts.type !== undefined) query = query.where('type', '=', opts.type);
  if (opts.scheduleId !== undefined) query = query.where('schedule_id', '=', opts.scheduleId);
  if (opts.parentId !== undefined) query = query.where('parent_id', '=', opts.parentId);
  if (opts.label !== undefined) {
    const [key, value] = opts.label;
    query = query.where(sql<boolean>`labels @> ${JSON.stringify({ [key]: value })}::jsonb`);
  }
  const items: WorkloadV1[] = [];
  let bytes = 0;
  let before = opts.beforeId;
  for (;;) {
    const want = Math.min(LIST_CHUNK_ROWS, opts.limit - items.length);
    // One extra row tells whether more follow without a count query.
    const rows = await (before === undefined ? query : query.where('id', '<', before))
      .orderBy('id', 'desc')
      .limit(want + 1)
      .execute();
    const chunk = rows.slice(0, want);
    for (const [i, row] of chunk.entries()) {
      const workload = toWorkload(row);
      items.push(workload);
      before = row.id;
      bytes += Buffer.byteLength(JSON.stringify(workload)) + 1;
      if (bytes > opts.maxBytes) {
        return { items, lastId: before, more: i < chunk.length - 1 || rows.length > want };
      }
    }
    if (rows.length <= want || items.length >= opts.limit) {
      return { items, lastId: before, more: rows.length > want };
    }
  }
}
