import { sql } from 'kysely';
import type { AssignmentV1 } from '@niyanta/messages';
import type { Executor } from './workload-core/statements/executor.js';

/** The children of a resumed run, as its assignment carries them. */
export type AssignmentChildren = NonNullable<AssignmentV1['assignments'][number]['children']>;

/**
 * The children each of `parentIds` has spawned, in call order, with the result or error of those
 * that ended: a resumed run's spawn calls return them without spawning again, and their
 * `result()` answers at once. Only runs after the first can have any (the caller asks for those).
 * Through `workloads_children`.
 */
export async function loadChildren(
  db: Executor,
  parentIds: readonly string[],
): Promise<Map<string, AssignmentChildren>> {
  const out = new Map<string, AssignmentChildren>();
  if (parentIds.length === 0) return out;
  const { rows } = await sql<{
    parent_id: string;
    child_index: number;
    status: AssignmentChildren[number]['status'];
    result: unknown;
    error: AssignmentChildren[number]['error'] | null;
  }>`
    select parent_id, child_index, status, result, error from workloads
    where parent_id = any(${parentIds}::uuid[])
    order by parent_id, child_index`.execute(db);
  for (const r of rows) {
    let list = out.get(r.parent_id);
    if (list === undefined) out.set(r.parent_id, (list = []));
    const child: AssignmentChildren[number] = { index: r.child_index, status: r.status };
    if (r.status === 'COMPLETED') child.result = r.result ?? null;
    else if (r.error !== null) child.error = r.error;
    list.push(child);
  }
  return out;
}
