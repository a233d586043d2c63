import { sql } from 'kysely';
import type { WorkloadV1 } from '@niyanta/messages';
import type { Db } from '@niyanta/runtime';

type Kysely = Db['db'];

/** Children a workload's GET lists by name (the rest are counted; `?parentId=` lists them all). */
export const SHOWN_CHILDREN = 100;

/**
 * The children a workload spawned, as its GET shows them: the total, the count per status and
 * the first {@link SHOWN_CHILDREN} in call order; undefined when it spawned none. Two reads
 * through `workloads_children`.
 */
export async function childrenSummary(
  db: Kysely,
  tenant: string,
  parentId: string,
): Promise<WorkloadV1['children']> {
  const items = await db
    .selectFrom('workloads')
    .select(['id', 'child_index', 'type', 'status'])
    .where('parent_id', '=', parentId)
    .where('tenant', '=', tenant)
    .orderBy('child_index')
    .limit(SHOWN_CHILDREN)
    .execute();
  if (items.length === 0) return undefined;
  const counts: Record<string, number> = {};
  let total = 0;
  const { rows } = await sql<{ status: string; n: number }>`
    select status, count(*)::int as n from workloads
    where parent_id = ${parentId} and tenant = ${tenant} group by status`.execute(db);
  for (const r of rows) {
    counts[r.status] = r.n;
    total += r.n;
  }
  return {
    total,
    counts,
    items: items.map((r) => ({
      id: r.id,
      index: r.child_index ?? 0,
      type: r.type,
      status: r.status,
    })),
  };
}
