import type { JsMsg } from '@nats-io/jetstream';
import type { Database } from '@niyanta/db';
import type { DeadLetters } from '@niyanta/runtime';
import type { Kysely } from 'kysely';
import type { Logger } from '../logger.js';
import type { Change } from '../workload-core/change.js';
import { unfinishedRunChange } from '../workload-core/decisions/completion.js';
import { unfinishedRunReason } from '../workload-core/decisions/worker-dead.js';
import type { LostAttempt } from '../workload-core/decisions/worker-dead.js';
import { publishAfterCommit } from '../workload-core/publish-after-commit.js';
import type { Bus } from '../workload-core/publish-after-commit.js';
import { applyChanges } from '../workload-core/statements/apply-changes.js';
import { lockActiveRuns } from '../workload-core/statements/read-workloads.js';

/**
 * `scheduler-worker-dead`. A worker declared dead: it is forgotten by placement, its pending
 * assignments and consumers are removed from the broker, and its SCHEDULED and RUNNING workloads
 * go back to PENDING (or to CANCELLED/PAUSED when that was asked of them). A message with `attempts` (reconciliation) leaves the worker alone and
 * sends back just those attempts, if each is still the current one on that worker. Their attempt
 * rises at the next placement, which fences the old runs out.
 */
export function createWorkerDeadHandler(
  deps: Bus & {
    db: Kysely<Database>;
    /** Removes a dead worker's assignments and consumers from the broker. */
    forgetWorker: (workerId: string) => Promise<unknown>;
    log: Logger;
    onDead: (workerId: string) => void;
    onRequeued: () => void;
    /** Where messages that do not decode go. */
    deadLetters: DeadLetters;
  },
) {
  const { db, log } = deps;
  return async (msgs: JsMsg[]): Promise<void> => {
    const decoded = await deps.deadLetters.decode('workerDead', msgs);
    const deadReasons = new Map<string, string | undefined>();
    const lost = new Map<string, LostAttempt>();
    for (const { value } of decoded) {
      if (value.attempts === undefined) {
        deadReasons.set(value.workerId, value.reason);
        continue;
      }
      for (const a of value.attempts) {
        lost.set(a.workloadId, {
          attempt: a.attempt,
          workerId: value.workerId,
          reason: value.reason,
        });
      }
    }
    const deadIds = [...deadReasons.keys()];
    // Before the transaction: a placement that still had the worker in view may have assigned it
    // more work; the query below then sends that back too.
    for (const id of deadIds) deps.onDead(id);
    for (const id of deadIds) await deps.forgetWorker(id);
    const transitions = await db.transaction().execute(async (trx) => {
      if (deadIds.length === 0 && lost.size === 0) return [];
      const rows = await lockActiveRuns(trx, deadIds, [...lost.keys()]);
      const changes: Change[] = [];
      for (const row of rows) {
        const why = unfinishedRunReason(row, deadReasons, lost);
        if (why !== undefined) changes.push(unfinishedRunChange(row, why));
      }
      return applyChanges(trx, changes);
    });
    await publishAfterCommit(deps, transitions, log, {
      settle: () => {
        for (const d of decoded) d.msg.ack();
      },
    });
    if (deadIds.length > 0 || lost.size > 0) {
      log.info(
        { deadWorkers: deadIds, lostAttempts: lost.size, requeued: transitions.length },
        'runs of dead workers and lost attempts back to PENDING (or ended as requested)',
      );
    }
    if (transitions.length > 0) deps.onRequeued();
  };
}
