import { readWorkloadAttempts } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { FINAL_STATUSES, isUuid } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';

/** What fencing needs to know of a workload. */
export interface WorkloadFence {
  attempt: number;
  status: string;
  /** The worker the current attempt is placed on (null while PENDING or PAUSED). */
  workerId?: string | null;
}

/**
 * The current attempt, status and worker of each of the workloads, in one query. Outside a
 * transaction it is only a first look (to skip work for checkpoints that are plainly out of date);
 * with `lock` (inside the transaction that inserts) the rows are locked `FOR SHARE`, in id order,
 * so the scheduler cannot move a workload to another attempt before that transaction ends: the
 * verdict made on them holds until the rows are committed.
 */
export async function readFences(
  db: Kysely<Database> | Transaction<Database>,
  workloadIds: readonly string[],
  opts: { lock?: boolean } = {},
): Promise<Map<string, WorkloadFence>> {
  const rows = await readWorkloadAttempts(db, workloadIds, { forShare: opts.lock === true });
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

/** A checkpoint the database refused (a data or constraint error): it can never be stored. */
export interface RejectedCheckpoint {
  row: CheckpointRow;
  /** SQLSTATE of the error. */
  code: string;
  reason: string;
}

/**
 * Stores the checkpoints in one multi-row insert (a redelivered one is already there and is
 * skipped), then keeps only the newest `keep` (by attempt, seq) of each workload touched, in one
 * delete. If the database refuses the insert for its data (SQLSTATE class 22 or 23), the rows are
 * inserted one at a time instead and those refused are returned as `rejected`: one poison row must
 * not hold back the rest of its batch forever. Returns the keys actually inserted and the blob keys
 * of the pruned rows: the caller deletes those objects once the transaction has committed.
 */
export async function storeCheckpoints(
  trx: Transaction<Database>,
  checkpoints: readonly CheckpointRow[],
  keep: number,
): Promise<{
  inserted: { workloadId: string; attempt: number; seq: number }[];
  rejected: RejectedCheckpoint[];
  pruned: number;
  prunedBlobKeys: string[];
}> {
  if (checkpoints.length === 0)
    return { inserted: [], rejected: [], pruned: 0, prunedBlobKeys: [] };
  const rejected: RejectedCheckpoint[] = [];
  let inserted: { workloadId: string; attempt: number; seq: number }[];
  // A failed statement aborts the whole transaction; a savepoint keeps the locks and lets the
  // rows be tried again one by one.
  await sql`savepoint checkpoint_batch`.execute(trx);
  try {
    inserted = await insertRows(trx, checkpoints);
    await sql`release savepoint checkpoint_batch`.execute(trx);
  } catch (err) {
    if (dataErrorCode(err) === undefined) throw err;
    await sql`rollback to savepoint checkpoint_batch`.execute(trx);
    inserted = [];
    for (const row of checkpoints) {
      await sql`savepoint checkpoint_row`.execute(trx);
      try {
        inserted.push(...(await insertRows(trx, [row])));
        await sql`release savepoint checkpoint_row`.execute(trx);
      } catch (rowErr) {
        const code = dataErrorCode(rowErr);
        if (code === undefined) throw rowErr;
        await sql`rollback to savepoint checkpoint_row`.execute(trx);
        rejected.push({ row, code, reason: (rowErr as Error).message });
      }
    }
  }
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
    inserted,
    rejected,
    pruned: pruned.length,
    prunedBlobKeys: blobKeysOf(pruned),
  };
}

async function insertRows(
  trx: Transaction<Database>,
  checkpoints: readonly CheckpointRow[],
): Promise<{ workloadId: string; attempt: number; seq: number }[]> {
  const rows = await trx
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
  return rows.map((r) => ({ workloadId: r.workload_id, attempt: r.attempt, seq: r.seq }));
}

/**
 * The SQLSTATE of an error that says the data itself is wrong (class 22, data exception, or 23,
 * integrity constraint violation), so retrying the same row can never succeed; undefined for any
 * other error. A unique violation of the checkpoints key is not one: `on conflict do nothing`
 * absorbs it, so seeing it means a race another try resolves.
 */
export function dataErrorCode(err: unknown): string | undefined {
  const { code, constraint } = (err ?? {}) as { code?: unknown; constraint?: unknown };
  if (typeof code !== 'string' || !/^2[23]/.test(code)) return undefined;
  if (code === '23505' && constraint === 'checkpoints_pk') return undefined;
  return code;
}

/**
 * Deletes up to `batch` checkpoints of workloads that ended more than `ttlHours` ago; returns
 * how many rows, and the blob keys of those rows (to delete after this commits). Rows another
 * transaction holds are skipped, never waited for.
 */
export async function deleteExpiredCheckpoints(
  db: Kysely<Database>,
  ttlHours: number,
  batch: number,
): Promise<{ deleted: number; blobKeys: string[] }> {
  const { rows } = await sql<{ blob_key: string | null }>`
    delete from checkpoints c using (
      select c.workload_id, c.seq from checkpoints c
      join workloads w on w.id = c.workload_id
      where w.status = any(${FINAL_STATUSES}::text[])
        and w.finished_at < now() - ${ttlHours}::float8 * interval '1 hour'
      limit ${batch}
      for update of c skip locked
    ) d
    where c.workload_id = d.workload_id and c.seq = d.seq
    returning c.blob_key`.execute(db);
  return { deleted: rows.length, blobKeys: blobKeysOf(rows) };
}

const LOOKUP_BATCH = 1_000;

/**
 * Of the checkpoint blob keys, those no checkpoint row refers to (looked up by workload id). A
 * key whose second segment is not a workload id (listed from the store, whatever put it there)
 * is one no row can refer to: rows only take keys under `checkpoints/<workloadId>/`.
 */
export async function unreferencedBlobKeys(
  db: Kysely<Database>,
  keys: readonly string[],
): Promise<string[]> {
  const workloadOf = (key: string): string | undefined => {
    const id = /^checkpoints\/([^/]+)\//.exec(key)?.[1];
    return id !== undefined && isUuid(id) ? id : undefined;
  };
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
