import type { JsMsg } from '@nats-io/jetstream';
import type { Database } from '@niyanta/db';
import { publishAll } from '@niyanta/messages';
import type { HeartbeatV1 } from '@niyanta/messages';
import type { DeadLetters, Logger } from '@niyanta/runtime';
import type { Kysely } from 'kysely';
import { STOPPED_REASON, workerDeadMessage } from './announce.js';
import { upsertHeartbeats, WORKER_STATUS } from './workers-store.js';
import { observeHeartbeats } from './heartbeat-metrics.js';

/** Keeps the newest heartbeat of each worker (by its `time`; on a tie, the later message). */
export function newestPerWorker(heartbeats: readonly HeartbeatV1[]): HeartbeatV1[] {
  const newest = new Map<string, HeartbeatV1>();
  for (const hb of heartbeats) {
    const prev = newest.get(hb.workerId);
    if (prev === undefined || Date.parse(hb.time) >= Date.parse(prev.time))
      newest.set(hb.workerId, hb);
  }
  return [...newest.values()];
}

/**
 * Handles a batch of heartbeat messages: one upsert for the newest beat of each worker, then the
 * `workerDead` announcements of workers that stopped, then the acks. A failure anywhere throws,
 * so the batch is redelivered and the upsert (idempotent) and announcements run again.
 */
export function createHeartbeatHandler(deps: {
  db: Kysely<Database>;
  js: Parameters<typeof publishAll>[0];
  log: Logger;
  /** Where heartbeats that do not decode go. */
  deadLetters: DeadLetters;
}): (msgs: JsMsg[]) => Promise<void> {
  const { db, js, log } = deps;
  return async (msgs) => {
    const decoded = await deps.deadLetters.decode('heartbeat', msgs);
    const valid = decoded.map((d) => d.msg);
    const heartbeats = decoded.map((d) => d.value);
    const newest = newestPerWorker(heartbeats);
    observeHeartbeats(newest);
    const byWorker = new Map(newest.map((hb) => [hb.workerId, hb]));
    const changed = await upsertHeartbeats(db, newest);

    const stopped = [];
    for (const w of changed) {
      const hb = byWorker.get(w.id);
      if (w.previousStatus === null) {
        log.info({ workerId: w.id, status: w.status, types: hb?.types }, 'worker registered');
      } else if (w.previousStatus === WORKER_STATUS.DEAD && w.status !== WORKER_STATUS.DEAD) {
        // Its old runs were handed to others when it died; attempt fencing keeps it from recording them.
        log.warn(
          { workerId: w.id, status: w.status },
          'worker declared dead is heartbeating again; registered as new',
        );
      } else if (w.previousStatus !== w.status) {
        log.info({ workerId: w.id, from: w.previousStatus, to: w.status }, 'worker status changed');
      }
      if (w.status === WORKER_STATUS.DEAD && hb?.status === 'STOPPED') {
        stopped.push(workerDeadMessage(w.id, w.lastHeartbeatAt, STOPPED_REASON));
      }
    }
    const ignored = newest.length - changed.length;
    if (ignored > 0) log.debug({ ignored }, 'heartbeats older than the stored ones ignored');
    if (stopped.length > 0) {
      await publishAll(js, stopped);
      for (const s of stopped)
        log.info({ workerId: s.message.workerId }, 'worker stopped; announced dead');
    }
    for (const m of valid) m.ack();
  };
}
