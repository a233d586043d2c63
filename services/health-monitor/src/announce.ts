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
