import type { WorkloadRow } from '@niyanta/db';
import { WORKLOAD_STATUS } from '@niyanta/messages';
import type { CommandV1, ControlV1, WorkloadStatus } from '@niyanta/messages';
import { REQUESTED_ACTION } from '../change.js';
import type { Change, RequestedAction } from '../change.js';

/**
 * What one command does to its workload: a status change, an order to its worker (with the
 * request remembered on the row until the run ends), or nothing.
 */
export interface CommandDecision {
  change?: Change;
  control?: { workerId: string; action: ControlV1['action']; attempt: number };
  /** Stored on the running workload, honoured however its run ends. */
  request?: RequestedAction;
  /** A signal: kept for the wait that takes it (handlers/signals.ts). */
  signal?: true;
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
      // A WAITING workload holds no worker: cancelled at once (its wait is left unresolved).
      if (status === S.PENDING || status === S.PAUSED || status === S.WAITING) {
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
      // A WAITING workload pauses at once; its wait stays recorded (a signal or its time still
      // resolves it) and a resumed run replays into it: answered, or waiting again for the rest.
      if (status === S.PENDING || status === S.WAITING)
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
    case 'signal':
      if (status === S.COMPLETED || status === S.FAILED || status === S.CANCELLED)
        return { ignored: `signal to a ${status} workload` };
      return { signal: true };
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
