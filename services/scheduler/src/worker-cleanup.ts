import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { isSubjectToken, STREAMS, SUBJECTS, workerConsumers } from '@niyanta/messages';
import type { Logger } from './logger.js';

function isNotFound(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.ConsumerNotFound ||
      err.code === JetStreamApiCodes.StreamNotFound)
  );
}

/**
 * Removes a dead worker from the broker: its pending assignments (their workloads go back to
 * PENDING and get new attempts, so they must not run there late) and its durable consumers.
 * A worker that comes back re-creates its consumers and starts with an empty queue, as new.
 * Idempotent; a broker failure throws (the caller's batch is redelivered and this runs again).
 * A worker id that cannot be a subject token (a row stored before ids were checked) names no
 * assignment subject or consumer: there is nothing to remove, and nothing is thrown.
 */
export async function forgetWorker(
  jsm: JetStreamManager,
  workerId: string,
  log: Logger,
): Promise<{ purged: number; consumersDeleted: number }> {
  if (!isSubjectToken(workerId)) {
    log.warn(
      { workerId },
      'dead worker id is not a subject token: it has no assignments or consumers to remove',
    );
    return { purged: 0, consumersDeleted: 0 };
  }
  const { purged } = await jsm.streams.purge(STREAMS.assign.name, {
    filter: SUBJECTS.assign(workerId),
  });
  const consumers = workerConsumers(workerId);
  let consumersDeleted = 0;
  for (const c of [consumers.assign, consumers.control]) {
    try {
      if (await jsm.consumers.delete(c.stream, c.durable_name)) consumersDeleted++;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  log.info(
    { workerId, purged, consumersDeleted },
    "dead worker's assignments and consumers removed",
  );
  return { purged, consumersDeleted };
}
