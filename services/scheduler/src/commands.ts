import type { JsMsg } from '@nats-io/jetstream';
import type { Database, WorkloadRow } from '@niyanta/db';
import { SUBJECTS, WORKLOAD_STATUS, envelope, lastToken, publishAll } from '@niyanta/messages';
import type { CommandV1, ControlV1, Outgoing, WorkloadStatus } from '@niyanta/messages';
import type { DeadLetters } from '@niyanta/runtime';
import type { Kysely } from 'kysely';
import { PublishError } from './errors.js';
import type { Logger } from './logger.js';
import {
  REQUESTED_ACTION,
  applyChanges,
  lockWorkloads,
  publishAfterCommit,
  recordRequests,
} from './transitions.js';
import type { Bus, Change, RequestedAction, RunRequest, Transition } from './transitions.js';

/**
 * What one command does to its workload: a status change, an order to its worker (with the
 * request remembered on the row until the run ends), or nothing.
 */
export interface CommandDecision {
  change?: Change;
  control?: { workerId: string; action: ControlV1['action']; attempt: number };
  /** Stored on the running workload, honoured however its run ends. */
  request?: RequestedAction;
  /** Why nothing happens, for the log. */
  ignored?: string;
}

const S = WORKLOAD_STATUS;

/** Decides a command against the workload's current row. Pure. */
export function decideCommand(
  row: WorkloadRow,
  command: CommandV1['command'],
  note?: string,
): CommandDecision {
  const status = row.status as WorkloadStatus;
  const base = { id: row.id, from: status, attempt: row.attempt, eventWorkerId: row.worker_id };
  const why = (what: string) => (note ? `${what}: ${note}` : what);
  const stop = (action: ControlV1['action']) =>
    row.worker_id === null ? undefined : { workerId: row.worker_id, action, attempt: row.attempt };
  switch (command) {
    case 'cancel':
      if (status === S.PENDING || status === S.PAUSED) {
        return {
          change: {
            ...base,
            to: S.CANCELLED,
            finished: 'now',
            pendingReason: null,
            reason: why('cancelled'),
          },
        };
      }
      if (status === S.SCHEDULED) {
        // Cancelled at once; the stop makes sure the worker never starts it.
        return {
          change: { ...base, to: S.CANCELLED, finished: 'now', reason: why('cancelled') },
          control: stop('stop'),
        };
      }
      // A running run ends with the worker's `cancelled` completion; the stored request ends it
      // CANCELLED also if the worker dies or the stop is lost before that.
      if (status === S.RUNNING) return { control: stop('stop'), request: REQUESTED_ACTION.cancel };
      return { ignored: `cancel of a ${status} workload` };
    case 'pause':
      if (status === S.RUNNING) {
        // A cancel already asked outranks a pause.
        if (row.requested_action === REQUESTED_ACTION.cancel)
          return { ignored: 'pause of a workload being cancelled' };
        return { control: stop('pause'), request: REQUESTED_ACTION.pause };
      }
      if (status === S.PENDING)
        return { change: { ...base, to: S.PAUSED, pendingReason: null, reason: why('paused') } };
      if (status === S.SCHEDULED) {
        return {
          change: { ...base, to: S.PAUSED, workerId: null, reason: why('paused') },
          control: stop('stop'),
        };
      }
      return { ignored: `pause of a ${status} workload` };
    case 'resume':
      if (status === S.PAUSED) {
        return {
          change: {
            ...base,
            to: S.PENDING,
            runAfterMs: null,
            pendingReason: null,
            requestedAction: null,
            reason: why('resumed'),
          },
        };
      }
      return { ignored: `resume of a ${status} workload` };
    case 'retry':
      if (status === S.FAILED || status === S.CANCELLED) {
        return {
          change: {
            ...base,
            to: S.PENDING,
            minMaxAttempts: row.attempt + 1,
            workerId: null,
            runAfterMs: null,
            pendingReason: null,
            finished: 'clear',
            requestedAction: null,
            reason: why('retry requested'),
          },
        };
      }
      return { ignored: `retry of a ${status} workload` };
  }
}

/**
 * `scheduler-commands`: cancel, pause, resume, retry. Orders to workers go out before the commit
 * (a stop for a run the commit then fails to cancel only ends a run the user wanted ended).
 * Several commands for one workload in a batch apply in order, one update per round.
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
    const valid: { msg: JsMsg; tenant: string; value: CommandV1 }[] = (
      await deps.deadLetters.decode('command', msgs)
    ).map(({ msg, value }) => ({ msg, tenant: lastToken(msg.subject) ?? '', value }));
    const transitions = await db.transaction().execute(async (trx) => {
      const rows = await lockWorkloads(
        trx,
        valid.map((v) => v.value.workloadId),
      );
      const applied: Transition[] = [];
      const controls: Outgoing<'control'>[] = [];
      let remaining = valid;
      while (remaining.length > 0) {
        const touched = new Set<string>();
        const changes: Change[] = [];
        const requests: RunRequest[] = [];
        const next: typeof valid = [];
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
        remaining = next;
      }
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
    if (transitions.some((t) => t.row.status === S.PENDING)) deps.onRequeued();
  };
}
