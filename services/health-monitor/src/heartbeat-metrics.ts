import type { HeartbeatV1 } from '@niyanta/messages';
import { deadWorkers, heartbeatHeard, workerForgotten } from '@niyanta/telemetry';

/** A worker that said it stopped has no heartbeat age to watch: it left. */
const STOPPED = 'STOPPED';

/** Records received heartbeats for niyanta_heartbeats_total and the heartbeat age gauge. */
export function observeHeartbeats(heartbeats: readonly HeartbeatV1[], nowMs = Date.now()): void {
  for (const hb of heartbeats) {
    if (hb.status === STOPPED) workerForgotten(hb.workerId);
    else heartbeatHeard(hb.workerId, nowMs);
  }
}

/** A worker declared dead: counted, and dropped from the heartbeat age gauge. */
export function observeDeath(workerId: string): void {
  deadWorkers.inc();
  workerForgotten(workerId);
}
