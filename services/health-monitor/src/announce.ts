import { envelope, SUBJECTS } from '@niyanta/messages';
import type { Outgoing } from '@niyanta/messages';

/** Why a worker that sent a STOPPED heartbeat is dead. */
export const STOPPED_REASON = 'stopped';

/**
 * The `workerDead` message for a worker. Its Nats-Msg-Id names the worker and its last beat, so
 * announcing the same death again (a retried sweep, a redelivered batch) inside the broker's
 * duplicate window is dropped by the broker; later repeats are harmless to the scheduler.
 */
export function workerDeadMessage(
  workerId: string,
  lastHeartbeatAt: Date,
  reason: string,
): Outgoing<'workerDead'> {
  return {
    kind: 'workerDead',
    subject: SUBJECTS.workerDead(workerId),
    message: { ...envelope(), workerId, lastHeartbeatAt: lastHeartbeatAt.toISOString(), reason },
    msgId: `worker-dead:${workerId}:${lastHeartbeatAt.getTime()}`,
  };
}

/**
 * The `workerDead` message that reports attempts of a live worker as lost (reconciliation): with
 * `attempts`, the scheduler sends back just these, if still current on that worker.
 */
export function attemptsLostMessage(
  workerId: string,
  attempts: readonly [
    { workloadId: string; attempt: number },
    ...{ workloadId: string; attempt: number }[],
  ],
  reason: string,
): Outgoing<'workerDead'> {
  return {
    kind: 'workerDead',
    subject: SUBJECTS.workerDead(workerId),
    message: {
      ...envelope(),
      workerId,
      // The worker is alive: this is the time of the report, not of a last heartbeat.
      lastHeartbeatAt: new Date().toISOString(),
      reason,
      attempts: attempts.map((a) => ({ workloadId: a.workloadId, attempt: a.attempt })) as [
        { workloadId: string; attempt: number },
        ...{ workloadId: string; attempt: number }[],
      ],
    },
  };
}

/** The `control` message telling a worker to stop a run whose attempt is no longer current. */
export function stopRunMessage(
  workerId: string,
  workloadId: string,
  attempt: number,
  reason: string,
): Outgoing<'control'> {
  return {
    kind: 'control',
    subject: SUBJECTS.control(workerId),
    message: { ...envelope(), workerId, action: 'stop', workloadId, attempt, reason },
  };
}
