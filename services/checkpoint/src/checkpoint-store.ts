import type { Database } from '@niyanta/db';
import { FINAL_STATUSES } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';

/** What fencing needs to know of a workload. */
export interface WorkloadFence {
  attempt: number;
  status: string;
  /** The worker the current attempt is placed on (null while PENDING or PAUSED). */
  workerId?: string | null;
}

/** The current attempt and status of each of the workloads, in one query. */
export async function readFences(
  db: Kysely<Database>,
  workloadIds: readonly string[],
): Promise<Map<string, WorkloadFence>> {
  if (workloadIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('workloads')
    .select(['id', 'attempt', 'status', 'worker_id'])
    .where('id', 'in', workloadIds)
    .execute();
  return new Map(
    rows.map((r) => [r.id, { attempt: r.attempt, status: r.status, workerId: r.worker_id }]),
  );
}

/** One checkpoint to store: its state inline (gzip of the JSON), or a verified blob's key. */
export type CheckpointRow = {
  workloadId: string;
  attempt: number;
  seq: number;
  /** Bytes of the JSON (uncompressed). */
  size: number;
  /** Hex SHA-256 of the JSON bytes. */
  sha256: string;
} & ({ storage: 'inline'; data: Buffer } | { storage: 'blob'; blobKey: string });

/**
 * Stores the checkpoints in one multi-row insert (a redelivered one is already there and is
 * skipped), then keeps only the newest `keep` (by seq) of each workload touched, in one delete.
 * Returns the keys actually inserted and the blob keys of the pruned rows: the caller deletes
 * those objects once the transaction has committed.
 */
export async function storeCheckpoints(
  trx: Transaction<Database>,
  checkpoints: readonly CheckpointRow[],
  keep: number,
): Promise<{
  inserted: { workloadId: string; seq: number }[];
  pruned: number;
  prunedBlobKeys: string[];
}> {
  if (checkpoints.length === 0) return { inserted: [], pruned: 0, prunedBlobKeys: [] };
  const inserted = await trx
    .insertInto('checkpoints')
    .values(
      checkpoints.map((c) => ({
        workload_id: c.workloadId,
        seq: c.seq,
        attempt: c.attempt,
        size: c.size,
        sha256: c.sha256,
        storage: c.storage,
        data: c.storage === 'inline' ? c.data : null,
        blob_key: c.storage === 'blob' ? c.blobKey : null,
      })),
    )
    .onConflict((oc) => oc.columns(['workload_id', 'attempt', 'seq']).doNothing())
    .returning(['workload_id', 'attempt', 'seq'])
    .execute();
  const touched = [...new Set(checkpoints.map((c) => c.workloadId))];
  const { rows: pruned } = await sql<{ blob_key: string | null }>`
    delete from checkpoints c
    using (
      select workload_id, attempt, seq, row_number() over (partition by workload_id order by attempt desc, seq desc) as rn
      from checkpoints
      where workload_id = any(${touched}::uuid[])
    ) ranked
    where c.workload_id = ranked.workload_id and c.attempt = ranked.attempt and c.seq = ranked.seq
      and ranked.rn > ${keep}
    returning c.blob_key
  `.execute(trx);
  return {
    inserted: inserted.map((r) => ({ workloadId: r.workload_id, seq: r.seq })),
    pruned: pruned.length,
    prunedBlobKeys: blobKeysOf(pruned),
  };
}

/**
 * Deletes every checkpoint of workloads that finished more than `ttlHours` ago; returns how
 * many rows, and the blob keys of those rows (to delete after this commits).
 */
export async function deleteExpiredCheckpoints(
  db: Kysely<Database>,
  ttlHours: number,
): Promise<{ deleted: number; blobKeys: string[] }> {
  const rows = await db
    .deleteFrom('checkpoints')
    .where('workload_id', 'in', (qb) =>
      qb
        .selectFrom('workloads')
        .select('id')
        .where('status', 'in', FINAL_STATUSES)
        .where('finished_at', '<', sql<Date>`now() - ${ttlHours}::float8 * interval '1 hour'`),
    )
    .returning('blob_key')
    .execute();
  return { deleted: rows.length, blobKeys: blobKeysOf(rows) };
}

const LOOKUP_BATCH = 1_000;

/** Of the checkpoint blob keys, those no checkpoint row refers to (looked up by workload id). */
export async function unreferencedBlobKeys(
  db: Kysely<Database>,
  keys: readonly string[],
): Promise<string[]> {
  const workloadOf = (key: string): string | undefined =>
    /^checkpoints\/([0-9a-f-]{36})\//.exec(key)?.[1];
  const ids = [...new Set(keys.flatMap((k) => workloadOf(k) ?? []))];
  const referenced = new Set<string>();
  for (let i = 0; i < ids.length; i += LOOKUP_BATCH) {
    const rows = await db
      .selectFrom('checkpoints')
      .select('blob_key')
      .where('workload_id', 'in', ids.slice(i, i + LOOKUP_BATCH))
      .where('blob_key', 'is not', null)
      .execute();
    for (const r of rows) if (r.blob_key !== null) referenced.add(r.blob_key);
  }
  return keys.filter((k) => !referenced.has(k));
}

const blobKeysOf = (rows: readonly { blob_key: string | null }[]): string[] =>
  rows.flatMap((r) => (r.blob_key === null ? [] : [r.blob_key]));
