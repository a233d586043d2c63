import type { JsMsg } from '@nats-io/jetstream';
import type { Database } from '@niyanta/db';
import type { CompletionV1 } from '@niyanta/messages';
import type { Kysely } from 'kysely';
import { TransientError } from '@niyanta/runtime';
import type { DeadLetters, DecodedMessage } from '@niyanta/runtime';
import type { Logger } from '../logger.js';
import type { Change } from '../workload-core/change.js';
import { completionChange } from '../workload-core/decisions/completion.js';
import { FENCE, NEWER_ATTEMPT_NAK_MS, fence } from '../workload-core/decisions/fence.js';
import { publishAfterCommit } from '../workload-core/publish-after-commit.js';
import type { Bus } from '../workload-core/publish-after-commit.js';
import { applyChanges } from '../workload-core/statements/apply-changes.js';
import { applySucceeded } from '../workload-core/statements/complete-succeeded.js';
import { readWorkloads } from '../workload-core/statements/read-workloads.js';
import type { Transition } from '../workload-core/transition.js';
import { decodeCompletions } from './decode-completions.js';
import { logAbandon, logDiscard } from './fence-log.js';
import { applyWaitingCompletions } from './waiting-completions.js';

type Decoded<T> = DecodedMessage<T>;

/** Rounds of reading and applying one batch of completions while its rows keep changing. */
const COMPLETION_ROUNDS = 5;

/**
 * `scheduler-complete`: applies each completion of the current attempt of an active run, all in
 * ONE statement (update plus events) and without a transaction: the rows are read without a lock
 * and each change applies only if everything it was decided on is unchanged (optimistic); the
 * few whose rows changed meanwhile are read and decided again. Successes go first, unread, in a
 * statement whose condition is their fence (`applySucceeded`); only what it leaves out is read.
 * Then publishes and acks.
 */
export function createCompletionHandler(
  deps: Bus & {
    db: Kysely<Database>;
    log: Logger;
    backoff: { baseMs: number; maxMs: number };
    onApplied: (retryDelaysMs: number[]) => void;
    /** Where messages that do not decode go. */
    deadLetters: DeadLetters;
  },
) {
  const { db, log } = deps;
  return async (msgs: JsMsg[]): Promise<void> => {
    // A batch message is acked once all its completions are settled, or redelivered whole when
    // one must wait (those already applied are then discarded by the fence).
    const acks = new Set<JsMsg>();
    const later = new Set<JsMsg>();
    const retryDelays: number[] = [];
    const transitions: Transition[] = [];
    let todo = await decodeCompletions(msgs, deps.deadLetters);
    // Durable waits record a wait row with their change: their own transaction.
    const waiting = await applyWaitingCompletions(
      db,
      todo.filter((item) => item.value.outcome === 'waiting'),
      log,
    );
    transitions.push(...waiting.transitions);
    for (const m of waiting.acks) acks.add(m);
    for (const m of waiting.later) later.add(m);
    todo = todo.filter((item) => item.value.outcome !== 'waiting');
    // Most completions are successes, decided by the fence alone: recorded without a read.
    const succeeded = new Map<string, Decoded<CompletionV1>>();
    for (const item of todo) {
      if (item.value.outcome === 'succeeded' && !succeeded.has(item.value.workloadId))
        succeeded.set(item.value.workloadId, item);
    }
    if (succeeded.size > 0) {
      const applied = await applySucceeded(
        db,
        [...succeeded.values()].map((item) => item.value),
      );
      transitions.push(...applied);
      const done = new Set(applied.map((t) => t.row.id));
      todo = todo.filter((item) => {
        if (!done.has(item.value.workloadId) || succeeded.get(item.value.workloadId) !== item)
          return true;
        acks.add(item.msg);
        return false;
      });
    }
    for (let round = 1; todo.length > 0; round++) {
      if (round > COMPLETION_ROUNDS) {
        // Contention, not a fault of the messages: retried with backoff, never dead-lettered.
        throw new TransientError(
          `${todo.length} completion(s) not applied after ${COMPLETION_ROUNDS} rounds: their workloads kept changing; redelivering`,
        );
      }
      const rows = await readWorkloads(
        db,
        todo.map((c) => c.value.workloadId),
      );
      const decided = new Map<string, { change: Change; item: Decoded<CompletionV1> }>();
      for (const item of todo) {
        const { msg, value } = item;
        const row = rows.get(value.workloadId);
        const verdict = decided.has(value.workloadId)
          ? FENCE.discard
          : fence(row, value, msg.info.deliveryCount);
        if (verdict === FENCE.later) {
          later.add(msg);
          continue;
        }
        acks.add(msg);
        if (verdict === FENCE.abandon) {
          logAbandon(log, value, row, msg.info.deliveryCount, `completion ${value.outcome}`);
          continue;
        }
        if (verdict === FENCE.discard) {
          logDiscard(log, value, row, `completion ${value.outcome}`);
          continue;
        }
        const change: Change = {
          ...completionChange(row!, value, deps.backoff),
          expect: {
            workerId: row!.worker_id,
            maxAttempts: row!.max_attempts,
            requestedAction: row!.requested_action,
          },
        };
        decided.set(value.workloadId, { change, item });
      }
      const applied = await applyChanges(
        db,
        [...decided.values()].map((d) => d.change),
      );
      transitions.push(...applied);
      for (const t of applied) {
        const delay = decided.get(t.row.id)!.change.runAfterMs;
        if (typeof delay === 'number') retryDelays.push(delay);
      }
      const done = new Set(applied.map((t) => t.row.id));
      todo = [...decided.values()].filter((d) => !done.has(d.change.id)).map((d) => d.item);
    }
    await publishAfterCommit(deps, transitions, log, {
      settle: () => {
        for (const m of acks) if (!later.has(m)) m.ack();
        for (const m of later) m.nak(NEWER_ATTEMPT_NAK_MS);
      },
    });
    if (transitions.length > 0) deps.onApplied(retryDelays);
  };
}
