import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { STREAMS, SUBJECTS, workerConsumers } from '@niyanta/messages';
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
 */
export async function forgetWorker(
  jsm: JetStreamManager,
  workerId: string,
  log: Logger,
): Promise<{ purged: number; consumersDeleted: number }> {
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
