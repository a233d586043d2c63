import type { JetStreamClient } from '@nats-io/jetstream';
import { envelope, publishOne, sanitizeJson, SUBJECTS } from '@niyanta/messages';
import type { HeartbeatV1 } from '@niyanta/messages';
import type { Logger } from './logger.js';

/** Heartbeat statuses (`HeartbeatV1['status']`). */
export const WORKER_STATUS = {
  active: 'ACTIVE',
  draining: 'DRAINING',
  stopped: 'STOPPED',
} as const satisfies Record<string, HeartbeatV1['status']>;
export type WorkerStatus = (typeof WORKER_STATUS)[keyof typeof WORKER_STATUS];

/** The heartbeat without its envelope fields. */
export type HeartbeatBody = Omit<HeartbeatV1, 'schemaVersion' | 'id' | 'time'>;

/**
 * Periodic heartbeats. A freed slot sends none: the scheduler knows its placements' usage from
 * the completions it records, so a beat per finished run would only load every reader.
 */
export interface Heartbeats {
  /** Publishes one now and resolves once it is acked (or failed, logged). */
  beatNow(): Promise<void>;
  /** Stops the timer; `beatNow` still works (for the last beat). */
  stop(): void;
}

/** Starts heartbeats on `SUBJECTS.heartbeat(workerId)`; the first is published at once. */
export function startHeartbeats(opts: {
  js: JetStreamClient;
  workerId: string;
  intervalMs: number;
  body: () => HeartbeatBody;
  log: Logger;
}): Heartbeats {
  const { js, log } = opts;
  const subject = SUBJECTS.heartbeat(opts.workerId);
  // Never rejects: the interval calls it without awaiting, and a beat that cannot be made (its
  // body fails to build or to validate) must not end the process or the next beats.
  const beatNow = async (): Promise<void> => {
    let body: HeartbeatBody | undefined;
    try {
      // Labels and zone come from the environment: U+0000 and lone surrogates become U+FFFD.
      body = sanitizeJson(opts.body());
      await publishOne(js, { kind: 'heartbeat', subject, message: { ...envelope(), ...body } });
      log.trace({ status: body.status, running: body.running.length }, 'heartbeat published');
    } catch (err) {
      // The next beat carries the same information; the health monitor tolerates a gap.
      log.warn({ err, status: body?.status }, 'heartbeat publish failed');
    }
  };
  const timer = setInterval(() => void beatNow(), opts.intervalMs);
  return {
    beatNow,
    stop() {
      clearInterval(timer);
    },
  };
}
