import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import { PREPARED } from './connection.js';
import type { Database } from './database.js';

/** What fencing reads of a workload: its current attempt, status and worker. */
export interface WorkloadAttemptRow {
  id: string;
  attempt: number;
  status: string;
  worker_id: string | null;
}

/**
 * The current attempt, status and worker of each of the workloads, in one prepared statement
 * whatever their number (an `in` list is a new text, parsed and planned again, for every count:
 * with 9,900 runs that took longer than the reads). `forShare` locks the rows in id order, so
 * that two transactions locking overlapping sets take the locks in one order.
 */
export async function readWorkloadAttempts(
  db: Kysely<Database> | Transaction<Database>,
  ids: readonly string[],
  opts: { forShare?: boolean } = {},
): Promise<WorkloadAttemptRow[]> {
  if (ids.length === 0) return [];
  const unique = [...new Set(ids)];
  const lock = opts.forShare === true ? sql`order by id for share` : sql``;
  const { rows } = await sql<WorkloadAttemptRow>`${PREPARED}
    select id, attempt, status, worker_id from workloads
    where id = any(${unique}::uuid[]) ${lock}`.execute(db);
  return rows;
}
