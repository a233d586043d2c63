import type { JsMsg } from '@nats-io/jetstream';
import type { Database } from '@niyanta/db';
import { SUBJECTS, WORKLOAD_STATUS, envelope, lastToken, publishAll } from '@niyanta/messages';
import type { Outgoing, WorkloadStatus } from '@niyanta/messages';
import type { DeadLetters } from '@niyanta/runtime';
import type { Kysely } from 'kysely';
import { PublishError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Change } from '../workload-core/change.js';
import { decideCommand } from '../workload-core/decisions/command.js';
import { publishAfterCommit } from '../workload-core/publish-after-commit.js';
import type { Bus } from '../workload-core/publish-after-commit.js';
import { applyChanges } from '../workload-core/statements/apply-changes.js';
import { lockWorkloads } from '../workload-core/statements/read-workloads.js';
import { recordRequests } from '../workload-core/statements/record-requests.js';
import type { RunRequest } from '../workload-core/statements/record-requests.js';
import type { SentSignal } from '../workload-core/statements/record-signals.js';
import type { Transition } from '../workload-core/transition.js';
import { cancels, cascadeCancels } from './cascade-cancel.js';
import type { PendingCommand } from './cascade-cancel.js';
import { applySignals } from './signals.js';

/**
 * `scheduler-commands`: cancel, pause, resume, retry, signal. Orders to workers go out before the commit
 * (a stop for a run the commit then fails to cancel only ends a run the user wanted ended).
 * Several commands for one workload in a batch apply in order, one update per round. A cancel
 * cascades to the workload's children (not detached ones) in the next rounds of the same
 * transaction.
 */
export function createCommandHandler(
  deps: Bus & {
    db: Kysely<Database>;
    log: Logger;
    onRequeued: () => void;
    /** Where messages that do not decode go. */
    deadLetters: DeadLetters;
  },
) {
  const { db, js, log } = deps;
  return async (msgs: JsMsg[]): Promise<void> => {
    const valid: (PendingCommand & { msg: JsMsg })[] = (
      await deps.deadLetters.decode('command', msgs)
    ).map(({ msg, value }) => ({ msg, tenant: lastToken(msg.subject) ?? '', value }));
    const transitions = await db.transaction().execute(async (trx) => {
      const rows = await lockWorkloads(
        trx,
        valid.map((v) => v.value.workloadId),
      );
      const applied: Transition[] = [];
      const controls: Outgoing<'control'>[] = [];
      let remaining: PendingCommand[] = valid;
      const signals: SentSignal[] = [];
      while (remaining.length > 0) {
        const touched = new Set<string>();
        const changes: Change[] = [];
        const requests: RunRequest[] = [];
        const next: PendingCommand[] = [];
        const cancelled: string[] = [];
        for (const cmd of remaining) {
          const { workloadId, command, reason } = cmd.value;
          const row = rows.get(workloadId);
          if (!row || row.tenant !== cmd.tenant) {
            log.info(
              { workloadId, tenant: cmd.tenant, command },
              'command for an unknown workload ignored',
            );
            continue;
          }
          if (touched.has(workloadId)) {
            next.push(cmd); // applies to the row as this round leaves it
            continue;
          }
          const decision = decideCommand(row, command, reason);
          if (decision.ignored)
            log.info({ workloadId, command, status: row.status }, `${decision.ignored} ignored`);
          if (cancels(command, decision)) cancelled.push(workloadId);
          if (decision.change) {
            touched.add(workloadId);
            changes.push(decision.change);
          }
          if (decision.request) {
            touched.add(workloadId);
            requests.push({
              id: workloadId,
              status: row.status as WorkloadStatus,
              attempt: row.attempt,
              action: decision.request,
            });
          }
          if (decision.signal && cmd.value.signal) {
            const { name, payload } = cmd.value.signal;
            signals.push({ workloadId, id: cmd.value.id, name, payload });
          }
          if (decision.control) {
            controls.push({
              kind: 'control',
              subject: SUBJECTS.control(decision.control.workerId),
              traceparent: row.trace_parent,
              message: {
                ...envelope(),
                workerId: decision.control.workerId,
                action: decision.control.action,
                workloadId,
                attempt: decision.control.attempt,
                ...(reason ? { reason } : {}),
              },
            });
          }
        }
        for (const t of await applyChanges(trx, changes)) {
          rows.set(t.row.id, t.row);
          applied.push(t);
        }
        for (const r of await recordRequests(trx, requests)) rows.set(r.id, r);
        remaining = [...next, ...(await cascadeCancels(trx, cancelled, rows))];
      }
      applied.push(...(await applySignals(trx, signals)));
      if (controls.length > 0) {
        try {
          await publishAll(js, controls);
        } catch (err) {
          throw new PublishError(`${controls.length} control message(s)`, { cause: err });
        }
      }
      return applied;
    });
    await publishAfterCommit(deps, transitions, log, {
      settle: () => {
        for (const v of valid) v.msg.ack();
      },
    });
    if (transitions.some((t) => t.row.status === WORKLOAD_STATUS.PENDING)) deps.onRequeued();
  };
}
