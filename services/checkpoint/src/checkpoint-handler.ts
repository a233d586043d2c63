import type { JsMsg } from '@nats-io/jetstream';
import type { Database } from '@niyanta/db';
import { decode, WORKLOAD_STATUS } from '@niyanta/messages';
import type { CheckpointV1 } from '@niyanta/messages';
import type { Logger } from '@niyanta/runtime';
import type { Kysely } from 'kysely';
import { readFences, storeCheckpoints } from './checkpoint-store.js';
import type { InlineCheckpoint, WorkloadFence } from './checkpoint-store.js';
import { encodeState } from './encode-state.js';

const MAX_RAW_LOGGED = 2_000;
// Messages are terminated with `term()` and no reason: nats-server 2.9 does not understand
// `+TERM <reason>` and leaves such a message pending, to be redelivered forever. Reasons go to the log.
/** Why a blob checkpoint is refused in this version. */
export const BLOB_NOT_SUPPORTED =
  'blob checkpoints need the blob store (not configured in this version)';
/** A checkpoint from an attempt the database has not seen yet waits this long before a retry. */
const EARLY_NAK_DELAY_MS = 1_000;
/** ...and is given up (acked, logged) after this many deliveries: its placement never committed. */
const EARLY_MAX_DELIVERIES = 10;

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
  cp: Pick<CheckpointV1, 'attempt'>,
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
  return { action: 'store' };
}

/**
 * Handles a batch of checkpoint messages: fences them against the workloads in one query,
 * stores the accepted ones and prunes old ones in one transaction, then acks. Throwing (the
 * database is down) naks the whole batch for a retry.
 */
export function createCheckpointHandler(deps: {
  db: Kysely<Database>;
  log: Logger;
  keep: number;
  inlineMaxBytes: number;
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
      if (cp.blob !== undefined) {
        log.error(
          {
            ...where,
            workloadId: cp.workloadId,
            seq: cp.seq,
            blobKey: cp.blob.key,
            reason: BLOB_NOT_SUPPORTED,
          },
          'blob checkpoint refused; terminating it',
        );
        msg.term();
        continue;
      }
      if (!('data' in cp)) {
        const reason = 'checkpoint carries neither data nor blob';
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
    const toRetry: JsMsg[] = [];
    // One row per (workload, seq): the last message wins, as a redelivery carries the same state.
    const accepted = new Map<string, CheckpointV1>();
    for (const { msg, cp } of decoded) {
      const verdict = judge(cp, fences.get(cp.workloadId), msg.info.deliveryCount);
      const fields = { workloadId: cp.workloadId, attempt: cp.attempt, seq: cp.seq };
      if (verdict.action === 'store') {
        accepted.set(`${cp.workloadId}:${cp.seq}`, cp);
        toAck.push(msg);
      } else if (verdict.action === 'retry') {
        log.info(
          { ...fields, reason: verdict.reason },
          'checkpoint ahead of its workload; retrying later',
        );
        toRetry.push(msg);
      } else {
        log.info({ ...fields, reason: verdict.reason }, 'checkpoint discarded');
        toAck.push(msg);
      }
    }

    const rows: InlineCheckpoint[] = await Promise.all(
      [...accepted.values()].map(async (cp) => ({
        workloadId: cp.workloadId,
        attempt: cp.attempt,
        seq: cp.seq,
        ...(await encodeState(cp.data)),
      })),
    );
    for (const row of rows) {
      if (row.size > deps.inlineMaxBytes) {
        // Stored inline anyway: refusing would lose the run's progress, and the broker already carried it.
        log.warn(
          {
            workloadId: row.workloadId,
            seq: row.seq,
            size: row.size,
            inlineMaxBytes: deps.inlineMaxBytes,
          },
          'checkpoint above the inline limit stored inline (no blob store in this version)',
        );
      }
    }
    if (rows.length > 0) {
      const { inserted, pruned } = await db
        .transaction()
        .execute((trx) => storeCheckpoints(trx, rows, deps.keep));
      log.debug(
        { stored: inserted.length, duplicates: rows.length - inserted.length, pruned },
        'checkpoints stored',
      );
    }
    for (const msg of toAck) msg.ack();
    for (const msg of toRetry) msg.nak(EARLY_NAK_DELAY_MS);
  };
}
