import type { WorkloadRow } from '@niyanta/db';
import { FINAL_STATUSES } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Executor } from './executor.js';

/**
 * Locks the children of `parentIds` that a cancel of their parent cancels with it: not detached
 * and not ended. In id order, through `workloads_children`.
 */
export async function lockCascadingChildren(
  trx: Executor,
  parentIds: readonly string[],
): Promise<WorkloadRow[]> {
  if (parentIds.length === 0) return [];
  const { rows } = await sql<WorkloadRow>`
    select * from workloads
    where parent_id = any(${[...new Set(parentIds)]}::uuid[]) and not detached
      and status <> all(${FINAL_STATUSES}::text[])
    order by id for update`.execute(trx);
  return rows;
}
