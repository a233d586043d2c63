import type { JsMsg } from '@nats-io/jetstream';
import type { BlobStore } from '@niyanta/blob-store';
import type { Database } from '@niyanta/db';
import { FINAL_STATUSES, WORKLOAD_STATUS } from '@niyanta/messages';
import type { CheckpointV1 } from '@niyanta/messages';
import type { DeadLetters, Logger, Refusal } from '@niyanta/runtime';
import type { Kysely } from 'kysely';
import { readFences, storeCheckpoints } from './checkpoint-store.js';
import type { CheckpointRow, WorkloadFence } from './checkpoint-store.js';
import { deleteBlobs } from './blob-cleanup.js';
import { verifyBlobCheckpoint } from './blob-verify.js';
import { encodeState } from './encode-state.js';
import { observeStored } from './checkpoint-metrics.js';

/** A checkpoint from an attempt the database has not seen yet waits this long before a retry. */
const EARLY_NAK_DELAY_MS = 1_000;
/** ...and is given up (acked, logged) after this many deliveries: its placement never committed. */
const EARLY_MAX_DELIVERIES = 10;
/** A blob checkpoint whose object could not be read (the blob store is down) is retried after this. */
const BLOB_RETRY_DELAY_MS = 2_000;
/** Blob checkpoints verified at once (each reads its whole object). */
const BLOB_VERIFY_CONCURRENCY = 4;

/**
 * Statuses in which the current attempt may still write. PAUSED and PENDING are in: the worker
 * sends its stop checkpoint (pause, drain, before a retryable failure) and at once its completion,
 * which the scheduler may apply first; the attempt only rises at the next placement, so a PAUSED
 * or PENDING row on the same attempt means "this run just stopped" and its last state counts.
 */
const OPEN: readonly string[] = [
  WORKLOAD_STATUS.SCHEDULED,
  WORKLOAD_STATUS.RUNNING,
  WORKLOAD_STATUS.PAUSED,
  WORKLOAD_STATUS.PENDING,
  // A run that starts a durable wait checkpoints, then reports the wait: the scheduler may
  // record WAITING first, and wakes the run only once this checkpoint is stored.
  WORKLOAD_STATUS.WAITING,
];

/** What to do with a checkpoint, given its workload's current attempt and status. */
export type Verdict =
  { action: 'store' } | { action: 'discard'; reason: string } | { action: 'retry'; reason: string };

/**
 * Fencing: only the current attempt of a workload that has not ended may write, so a worker
 * declared dead that comes back cannot overwrite its successor's state. An attempt ahead of the
 * row means the placement transaction has not committed yet: retried a few times, then dropped.
 */
export function judge(
  cp: Pick<CheckpointV1, 'attempt' | 'workerId'>,
  fence: WorkloadFence | undefined,
  deliveries: number,
): Verdict {
  if (fence === undefined) return { action: 'discard', reason: 'no such workload' };
  if ((FINAL_STATUSES as readonly string[]).includes(fence.status))
    return { action: 'discard', reason: `the workload is ${fence.status}` };
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
  if (!OPEN.includes(fence.status))
    return { action: 'discard', reason: `the workload is ${fence.status}` };
  // The same attempt number from another worker: an assignment of a placement that rolled back,
  // re-placed elsewhere with the same number. Only the recorded worker counts (as in the scheduler).
  // A null worker (the run was paused, released or failed for a retry) accepts the attempt's own.
  if (cp.workerId !== undefined && fence.workerId != null && cp.workerId !== fence.workerId)
    return {
      action: 'discard',
      reason: `worker ${cp.workerId} is not the workload's worker ${fence.workerId}`,
    };
  return { action: 'store' };
}

/** The messages of one (workload, attempt, seq): redeliveries carry the same state. */
interface Candidate {
  cp: CheckpointV1;
  msgs: JsMsg[];
}

const deliveriesOf = (msgs: readonly JsMsg[]): number =>
  Math.max(...msgs.map((m) => m.info.deliveryCount));

/**
 * Handles a batch of checkpoint messages: a first fencing look at the workloads (one query, no
 * lock) drops the plainly out-of-date ones, the objects of blob checkpoints are verified (size and
 * sha256; slow, so outside any transaction), then one transaction locks the batch's workload rows,
 * judges every checkpoint again on them, stores the accepted ones and prunes old ones. Acks after
 * the commit (the checkpoints the database refuses for their data, and invalid ones, are dead
 * letters), then deletes the objects of the pruned rows. Throwing (the database is down) naks the
 * batch for a retry.
 */
export function createCheckpointHandler(deps: {
  db: Kysely<Database>;
  log: Logger;
  keep: number;
  inlineMaxBytes: number;
  blobs: BlobStore;
  /** Where checkpoints that cannot be stored go. */
  deadLetters: DeadLetters;
}): (msgs: JsMsg[]) => Promise<void> {
  const { db, log } = deps;
  return async (msgs) => {
    const decoded: { msg: JsMsg; cp: CheckpointV1 }[] = [];
    const invalid: Refusal[] = [];
    for (const { msg, value: cp } of await deps.deadLetters.decode('checkpoint', msgs)) {
      const hasData = 'data' in cp;
      if (hasData === (cp.blob !== undefined)) {
        const error = hasData
          ? 'checkpoint carries both data and blob'
          : 'checkpoint carries neither data nor blob';
        invalid.push({ msg, error });
        continue;
      }
      decoded.push({ msg, cp });
    }
    await deps.deadLetters.refuse(invalid);
    if (decoded.length === 0) return;

    const toAck: JsMsg[] = [];
    const toRefuse: Refusal[] = [];
    const toRetry: { msg: JsMsg; delayMs: number }[] = [];
    const settle = (
      { cp, msgs: held }: Candidate,
      verdict: Exclude<Verdict, { action: 'store' }>,
    ): void => {
      const fields = { workloadId: cp.workloadId, attempt: cp.attempt, seq: cp.seq };
      if (verdict.action === 'retry') {
        log.info(
          { ...fields, reason: verdict.reason },
          'checkpoint ahead of its workload; retrying later',
        );
        for (const msg of held) toRetry.push({ msg, delayMs: EARLY_NAK_DELAY_MS });
      } else {
        // A discarded blob checkpoint's object is left to the orphan sweep: its key may be one a
        // committed row refers to (a redelivery after the workload ended).
        log.info({ ...fields, reason: verdict.reason }, 'checkpoint discarded');
        toAck.push(...held);
      }
    };

    // A first look, without locks: nothing is downloaded or encoded for a checkpoint that is
    // already out of date. Only the judgement inside the insert transaction counts.
    const firstLook = await readFences(db, [...new Set(decoded.map((d) => d.cp.workloadId))]);
    // One row per (workload, attempt, seq): the last message wins, as a redelivery carries the same state.
    const grouped = new Map<string, Candidate>();
    for (const { msg, cp } of decoded) {
      const key = `${cp.workloadId}:${cp.attempt}:${cp.seq}`;
      grouped.set(key, { cp, msgs: [...(grouped.get(key)?.msgs ?? []), msg] });
    }
    const accepted = new Map<string, Candidate>();
    for (const [key, candidate] of grouped) {
      const { cp, msgs: held } = candidate;
      const verdict = judge(cp, firstLook.get(cp.workloadId), deliveriesOf(held));
      if (verdict.action === 'store') accepted.set(key, candidate);
      else settle(candidate, verdict);
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
          log.error(fields, 'blob checkpoint failed verification; refusing it');
          const error = `blob checkpoint failed verification: ${check.reason}`;
          for (const msg of held) toRefuse.push({ msg, error });
        } else {
          log.warn({ ...fields, err: check.err }, 'blob checkpoint not verifiable now; retrying');
          for (const msg of held) toRetry.push({ msg, delayMs: BLOB_RETRY_DELAY_MS });
        }
      },
    );

    const rowsByKey = new Map<string, CheckpointRow>();
    await Promise.all(
      [...accepted.entries()].map(async ([key, { cp }]) => {
        const base = { workloadId: cp.workloadId, attempt: cp.attempt, seq: cp.seq };
        rowsByKey.set(
          key,
          cp.blob !== undefined
            ? {
                ...base,
                storage: 'blob',
                blobKey: cp.blob.key,
                size: cp.blob.size,
                sha256: cp.blob.sha256,
              }
            : { ...base, storage: 'inline', ...(await encodeState(cp.data)) },
        );
      }),
    );
    for (const row of rowsByKey.values()) {
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
    if (accepted.size > 0) {
      const outcome = await db.transaction().execute(async (trx) => {
        // Judged again on the locked rows: the scheduler cannot move a workload to another
        // attempt (or end it) between this verdict and the commit of the rows it lets in.
        const fences = await readFences(
          trx,
          [...new Set([...accepted.values()].map((a) => a.cp.workloadId))],
          { lock: true },
        );
        const storing: string[] = [];
        const refused: { key: string; verdict: Exclude<Verdict, { action: 'store' }> }[] = [];
        for (const [key, { cp, msgs: held }] of accepted) {
          const verdict = judge(cp, fences.get(cp.workloadId), deliveriesOf(held));
          if (verdict.action === 'store') storing.push(key);
          else refused.push({ key, verdict });
        }
        const stored = await storeCheckpoints(
          trx,
          storing.map((key) => rowsByKey.get(key)!),
          deps.keep,
        );
        return { storing, refused, stored };
      });
      const { storing, refused, stored } = outcome;
      prunedBlobKeys = stored.prunedBlobKeys;
      observeStored(stored.inserted, rowsByKey);
      for (const { key, verdict } of refused) settle(accepted.get(key)!, verdict);
      const rejectedKeys = new Map(
        stored.rejected.map((r) => [`${r.row.workloadId}:${r.row.attempt}:${r.row.seq}`, r]),
      );
      for (const key of storing) {
        const { cp, msgs: held } = accepted.get(key)!;
        const rejected = rejectedKeys.get(key);
        if (rejected === undefined) {
          toAck.push(...held);
          continue;
        }
        log.error(
          {
            workloadId: cp.workloadId,
            attempt: cp.attempt,
            seq: cp.seq,
            code: rejected.code,
            reason: rejected.reason,
          },
          'checkpoint refused by the database for its data; refusing it',
        );
        const error = `PostgreSQL refused the checkpoint (${rejected.code}): ${rejected.reason}`;
        for (const msg of held) toRefuse.push({ msg, error });
      }
      log.debug(
        {
          stored: stored.inserted.length,
          duplicates: storing.length - stored.inserted.length - stored.rejected.length,
          refused: refused.length,
          rejected: stored.rejected.length,
          pruned: stored.pruned,
        },
        'checkpoints stored',
      );
    }
    for (const msg of toAck) msg.ack();
    for (const { msg, delayMs } of toRetry) msg.nak(delayMs);
    await deps.deadLetters.refuse(toRefuse);
    await deleteBlobs(deps.blobs, prunedBlobKeys, log, 'pruned');
  };
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
