import type { Database } from '@niyanta/db';
import { FINAL_STATUSES } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import type { EncodedState } from './encode-state.js';

/** What fencing needs to know of a workload. */
export interface WorkloadFence {
  attempt: number;
  status: string;
}

/** The current attempt and status of each of the workloads, in one query. */
export async function readFences(
  db: Kysely<Database>,
  workloadIds: readonly string[],
): Promise<Map<string, WorkloadFence>> {
  if (workloadIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('workloads')
    .select(['id', 'attempt', 'status'])
    .where('id', 'in', workloadIds)
    .execute();
  return new Map(rows.map((r) => [r.id, { attempt: r.attempt, status: r.status }]));
}

/** One inline checkpoint to store. */
export interface InlineCheckpoint extends EncodedState {
  workloadId: string;
  attempt: number;
  seq: number;
}

/**
 * Stores the checkpoints in one multi-row insert (a redelivered one is already there and is
 * skipped), then keeps only the newest `keep` (by seq) of each workload touched, in one delete.
 * Returns the keys actually inserted.
 */
export async function storeCheckpoints(
  trx: Transaction<Database>,
  checkpoints: readonly InlineCheckpoint[],
  keep: number,
): Promise<{ inserted: { workloadId: string; seq: number }[]; pruned: number }> {
  if (checkpoints.length === 0) return { inserted: [], pruned: 0 };
  const inserted = await trx
    .insertInto('checkpoints')
    .values(
      checkpoints.map((c) => ({
        workload_id: c.workloadId,
        seq: c.seq,
        attempt: c.attempt,
        size: c.size,
        sha256: c.sha256,
        storage: 'inline' as const,
        data: c.data,
        blob_key: null,
      })),
    )
    .onConflict((oc) => oc.columns(['workload_id', 'seq']).doNothing())
    .returning(['workload_id', 'seq'])
    .execute();
  const touched = [...new Set(checkpoints.map((c) => c.workloadId))];
  const pruned = await sql`
    delete from checkpoints c
    using (
      select workload_id, seq, row_number() over (partition by workload_id order by seq desc) as rn
      from checkpoints
      where workload_id = any(${touched}::uuid[])
    ) ranked
    where c.workload_id = ranked.workload_id and c.seq = ranked.seq and ranked.rn > ${keep}
  `.execute(trx);
  return {
    inserted: inserted.map((r) => ({ workloadId: r.workload_id, seq: r.seq })),
    pruned: Number(pruned.numAffectedRows ?? 0),
  };
}

/** Deletes every checkpoint of workloads that finished more than `ttlHours` ago; returns how many. */
export async function deleteExpiredCheckpoints(
  db: Kysely<Database>,
  ttlHours: number,
): Promise<number> {
  const result = await db
    .deleteFrom('checkpoints')
    .where('workload_id', 'in', (qb) =>
      qb
        .selectFrom('workloads')
        .select('id')
        .where('status', 'in', FINAL_STATUSES)
        .where('finished_at', '<', sql<Date>`now() - ${ttlHours}::float8 * interval '1 hour'`),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
