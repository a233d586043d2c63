import type { JsMsg } from '@nats-io/jetstream';
import type { Database } from '@niyanta/db';
import { SUBJECTS, enveloped } from '@niyanta/messages';
import type { EventV1, Outgoing } from '@niyanta/messages';
import type { DeadLetters } from '@niyanta/runtime';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from '../logger.js';
import type { Change } from '../workload-core/change.js';
import { FENCE, NEWER_ATTEMPT_NAK_MS, fence } from '../workload-core/decisions/fence.js';
import { latestProgress, startedChange } from '../workload-core/decisions/run-update.js';
import type { ProgressUpdate } from '../workload-core/decisions/run-update.js';
import { publishAfterCommit } from '../workload-core/publish-after-commit.js';
import type { Bus } from '../workload-core/publish-after-commit.js';
import { applyChanges } from '../workload-core/statements/apply-changes.js';
import { lockWorkloads } from '../workload-core/statements/read-workloads.js';
import { applyProgress } from '../workload-core/statements/store-progress.js';
import type { Transition } from '../workload-core/transition.js';
import { logAbandon, logDiscard } from './fence-log.js';

/** The live `progress` event of a stored progress update (no workload_events row). */
function progressEvent(u: ProgressUpdate): Outgoing<'event'> {
  return {
    kind: 'event',
    subject: SUBJECTS.events(u.workloadId),
    message: enveloped<EventV1>({
      workloadId: u.workloadId,
      kind: 'progress',
      attempt: u.attempt,
      progress: u.progress,
    }),
  };
}

/**
 * `scheduler-run`: `started` moves SCHEDULED to RUNNING; `progress` stores the latest progress
 * of each workload with ONE update and publishes a progress event (no workload_events row).
 */
export function createRunUpdateHandler(
  deps: Bus & {
    db: Kysely<Database>;
    log: Logger;
    /** Where messages that do not decode go. */
    deadLetters: DeadLetters;
  },
) {
  const { db, log } = deps;
  return async (msgs: JsMsg[]): Promise<void> => {
    const decoded = await deps.deadLetters.decode('runUpdate', msgs);
    const acks: JsMsg[] = [];
    const later: JsMsg[] = [];
    const progressEvents: Outgoing<'event'>[] = [];
    // Progress first, unread: the latest of each workload, stored where its fence holds. Its
    // messages and the earlier ones of the same attempt are done; the rest are fenced below. A
    // workload with a `started` in the batch goes there whole, so that it starts first.
    const latest = latestProgress(decoded.map((d) => d.value));
    const stored = await applyProgress(db, [...latest.values()]);
    const updates: typeof decoded = [];
    for (const d of decoded) {
      const u = latest.get(d.value.workloadId);
      const done =
        d.value.kind === 'progress' &&
        stored.has(d.value.workloadId) &&
        d.value.attempt === u!.attempt &&
        d.value.workerId === u!.workerId;
      if (done) acks.push(d.msg);
      else updates.push(d);
    }
    for (const id of stored) progressEvents.push(progressEvent(latest.get(id)!));
    // What is left is fenced on locked rows; with nothing left, no transaction.
    const fenceTheRest = async (trx: Transaction<Database>): Promise<Transition[]> => {
      const rows = await lockWorkloads(
        trx,
        updates.map((u) => u.value.workloadId),
      );
      const starts: Change[] = [];
      const started = new Set<string>();
      const progress = new Map<string, ProgressUpdate>();
      for (const { msg, value } of updates) {
        const row = rows.get(value.workloadId);
        const verdict = fence(row, value, msg.info.deliveryCount);
        if (verdict === FENCE.later) {
          later.push(msg);
          continue;
        }
        acks.push(msg);
        if (verdict === FENCE.abandon) {
          logAbandon(log, value, row, msg.info.deliveryCount, `run update ${value.kind}`);
          continue;
        }
        if (verdict === FENCE.discard) {
          logDiscard(log, value, row, `run update ${value.kind}`);
          continue;
        }
        if (value.kind === 'started') {
          const change = started.has(row!.id) ? undefined : startedChange(row!, value);
          if (change) {
            started.add(row!.id);
            starts.push(change);
          }
        } else if (value.progress) {
          progress.set(value.workloadId, value as ProgressUpdate); // the latest in the batch wins
        }
      }
      const applied = await applyChanges(trx, starts);
      // Fenced on locked rows already: the statement's own fence lets every one of them through.
      const storedLate = await applyProgress(trx, [...progress.values()]);
      for (const id of storedLate) progressEvents.push(progressEvent(progress.get(id)!));
      return applied;
    };
    const transitions = updates.length === 0 ? [] : await db.transaction().execute(fenceTheRest);
    await publishAfterCommit(deps, transitions, log, {
      live: progressEvents,
      settle: () => {
        for (const m of acks) m.ack();
        for (const m of later) m.nak(NEWER_ATTEMPT_NAK_MS);
      },
    });
  };
}
