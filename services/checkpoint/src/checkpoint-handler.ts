import type { JsMsg } from '@nats-io/jetstream';
import type { BlobStore } from '@niyanta/blob-store';
import type { Database } from '@niyanta/db';
import { decode, WORKLOAD_STATUS } from '@niyanta/messages';
import type { CheckpointV1 } from '@niyanta/messages';
import type { Logger } from '@niyanta/runtime';
import type { Kysely } from 'kysely';
import { readFences, storeCheckpoints } from './checkpoint-store.js';
import type { CheckpointRow, WorkloadFence } from './checkpoint-store.js';
import { verifyBlobCheckpoint } from './blob-verify.js';
import { encodeState } from './encode-state.js';

const MAX_RAW_LOGGED = 2_000;
// Messages are terminated with `term()` and no reason: nats-server 2.9 does not understand
// `+TERM <reason>` and leaves such a message pending, to be redelivered forever. Reasons go to the log.
/** A checkpoint from an attempt the database has not seen yet waits this long before a retry. */
const EARLY_NAK_DELAY_MS = 1_000;
/** ...and is given up (acked, logged) after this many deliveries: its placement never committed. */
const EARLY_MAX_DELIVERIES = 10;
/** A blob checkpoint whose object could not be read (the blob store is down) is retried after this. */
const BLOB_RETRY_DELAY_MS = 2_000;
/** Blob checkpoints verified at once (each reads its whole object). */
const BLOB_VERIFY_CONCURRENCY = 4;

const WRITABLE: readonly string[] = [WORKLOAD_STATUS.SCHEDULED, WORKLOAD_STATUS.RUNNING];

/** What to do with a checkpoint, given its workload's current attempt and status. */
export type Verdict =
  { action: 'store' } | { action: 'discard'; reason: string } | { action: 'retry'; reason: string };

/**
 * Fencing: only the current attempt of a scheduled or running workload may write, so a worker
 * declared dead that comes back cannot overwrite its successor's state. An attempt ahead of the
 * row means the placement transaction has not committed yet: retried a few times, then dropped.
 */
export function judge(
  cp: Pick<CheckpointV1, 'attempt' | 'workerId'>,
  fence: WorkloadFence | undefined,
  deliveries: number,
): Verdict {
  if (fence === undefined) return { action: 'discard', reason: 'no such workload' };
  if (cp.attempt < fence.attempt)
    return {
      action: 'discard',
      reason: `attempt ${cp.attempt} is stale: the workload is on attempt ${fence.attempt}`,
    };
  if (cp.attempt > fence.attempt) {
    const reason = `attempt ${cp.attempt} is ahead of the workload's attempt ${fence.attempt}`;
    return deliveries < EARLY_MAX_DELIVERIES
      ? { action: 'retry', reason }
      : { action: 'discard', reason: `${reason} after ${deliveries} deliveries` };
  }
  if (!WRITABLE.includes(fence.status))
    return { action: 'discard', reason: `the workload is ${fence.status}` };
  // The same attempt number from another worker: an assignment of a placement that rolled back,
  // re-placed elsewhere with the same number. Only the recorded worker counts (as in the scheduler).
  if (cp.workerId !== undefined && fence.workerId != null && cp.workerId !== fence.workerId)
    return {
      action: 'discard',
      reason: `worker ${cp.workerId} is not the workload's worker ${fence.workerId}`,
    };
  return { action: 'store' };
}

/**
 * Handles a batch of checkpoint messages: fences them against the workloads in one query,
 * verifies the objects of blob checkpoints (size and sha256), stores the accepted ones and prunes
 * old ones in one transaction, acks, then deletes the objects of the pruned rows. Throwing (the
 * database is down) naks the whole batch for a retry.
 */
export function createCheckpointHandler(deps: {
  db: Kysely<Database>;
  log: Logger;
  keep: number;
  inlineMaxBytes: number;
  blobs: BlobStore;
}): (msgs: JsMsg[]) => Promise<void> {
  const { db, log } = deps;
  return async (msgs) => {
    const decoded: { msg: JsMsg; cp: CheckpointV1 }[] = [];
    for (const msg of msgs) {
      const result = decode('checkpoint', msg.data);
      const where = { subject: msg.subject, streamSeq: msg.seq };
      if (!result.ok) {
        log.error(
          {
            ...where,
            reason: result.reason,
            errors: result.errors,
            raw: result.raw.slice(0, MAX_RAW_LOGGED),
          },
          'invalid checkpoint; terminating it',
        );
        msg.term();
        continue;
      }
      const cp = result.value;
      const hasData = 'data' in cp;
      if (hasData === (cp.blob !== undefined)) {
        const reason = hasData
          ? 'checkpoint carries both data and blob'
          : 'checkpoint carries neither data nor blob';
        log.error(
          { ...where, workloadId: cp.workloadId, seq: cp.seq, reason },
          'invalid checkpoint; terminating it',
        );
        msg.term();
        continue;
      }
      decoded.push({ msg, cp });
    }
    if (decoded.length === 0) return;

    const fences = await readFences(db, [...new Set(decoded.map((d) => d.cp.workloadId))]);
    const toAck: JsMsg[] = [];
    const toRetry: { msg: JsMsg; delayMs: number }[] = [];
    // One row per (workload, attempt, seq): the last message wins, as a redelivery carries the same state.
    const accepted = new Map<string, { cp: CheckpointV1; msgs: JsMsg[] }>();
    for (const { msg, cp } of decoded) {
      const verdict = judge(cp, fences.get(cp.workloadId), msg.info.deliveryCount);
      const fields = { workloadId: cp.workloadId, attempt: cp.attempt, seq: cp.seq };
      if (verdict.action === 'store') {
        const key = `${cp.workloadId}:${cp.attempt}:${cp.seq}`;
        accepted.set(key, { cp, msgs: [...(accepted.get(key)?.msgs ?? []), msg] });
      } else if (verdict.action === 'retry') {
        log.info(
          { ...fields, reason: verdict.reason },
          'checkpoint ahead of its workload; retrying later',
        );
        toRetry.push({ msg, delayMs: EARLY_NAK_DELAY_MS });
      } else {
        // A discarded blob checkpoint's object is left to the orphan sweep: its key may be one a
        // committed row refers to (a redelivery after the workload ended).
        log.info({ ...fields, reason: verdict.reason }, 'checkpoint discarded');
        toAck.push(msg);
      }
    }

    await forEachLimited(
      [...accepted.entries()].filter(([, a]) => a.cp.blob !== undefined),
      BLOB_VERIFY_CONCURRENCY,
      async ([key, { cp, msgs: held }]) => {
        const check = await verifyBlobCheckpoint(deps.blobs, cp.workloadId, cp.blob!);
        if (check.ok) return;
        accepted.delete(key);
        const fields = {
          workloadId: cp.workloadId,
          attempt: cp.attempt,
          seq: cp.seq,
          blob: cp.blob,
          reason: check.reason,
        };
        if (check.permanent) {
          log.error(fields, 'blob checkpoint failed verification; terminating it');
          for (const msg of held) msg.term();
        } else {
          log.warn({ ...fields, err: check.err }, 'blob checkpoint not verifiable now; retrying');
          for (const msg of held) toRetry.push({ msg, delayMs: BLOB_RETRY_DELAY_MS });
        }
      },
    );

    const rows: CheckpointRow[] = await Promise.all(
      [...accepted.values()].map(async ({ cp }): Promise<CheckpointRow> => {
        const base = { workloadId: cp.workloadId, attempt: cp.attempt, seq: cp.seq };
        if (cp.blob !== undefined)
          return {
            ...base,
            storage: 'blob',
            blobKey: cp.blob.key,
            size: cp.blob.size,
            sha256: cp.blob.sha256,
          };
        return { ...base, storage: 'inline', ...(await encodeState(cp.data)) };
      }),
    );
    for (const row of rows) {
      if (row.storage === 'inline' && row.size > deps.inlineMaxBytes) {
        // Stored inline anyway: refusing would lose the run's progress, and the broker already carried it.
        log.warn(
          {
            workloadId: row.workloadId,
            seq: row.seq,
            size: row.size,
            inlineMaxBytes: deps.inlineMaxBytes,
          },
          'checkpoint above the inline limit stored inline (the worker should have used the blob store)',
        );
      }
    }
    let prunedBlobKeys: string[] = [];
    if (rows.length > 0) {
      const stored = await db
        .transaction()
        .execute((trx) => storeCheckpoints(trx, rows, deps.keep));
      prunedBlobKeys = stored.prunedBlobKeys;
      log.debug(
        {
          stored: stored.inserted.length,
          duplicates: rows.length - stored.inserted.length,
          pruned: stored.pruned,
        },
        'checkpoints stored',
      );
    }
    for (const { msgs: held } of accepted.values()) toAck.push(...held);
    for (const msg of toAck) msg.ack();
    for (const { msg, delayMs } of toRetry) msg.nak(delayMs);
    await deleteBlobs(deps.blobs, prunedBlobKeys, log, 'pruned');
  };
}

/**
 * Deletes the objects of deleted checkpoint rows. A failure is logged, not thrown: the rows are
 * gone already, and the orphan sweep deletes objects no row refers to.
 */
export async function deleteBlobs(
  blobs: BlobStore,
  keys: readonly string[],
  log: Logger,
  why: string,
): Promise<void> {
  if (keys.length === 0) return;
  try {
    await blobs.delete(keys);
    log.debug({ keys: keys.length, why }, 'checkpoint blobs deleted');
  } catch (err) {
    log.warn(
      { err, keys: keys.length, why },
      'checkpoint blobs not deleted; the orphan sweep will retry',
    );
  }
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
