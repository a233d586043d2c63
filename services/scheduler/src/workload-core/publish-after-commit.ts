import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SUBJECTS, WORKLOAD_STATUS, enveloped, publishAll, publishCore } from '@niyanta/messages';
import type { EventV1, Outgoing } from '@niyanta/messages';
import type { Backlog } from '../backlog.js';
import type { Logger } from '../logger.js';
import type { UsageLedger } from '../placement/usage-ledger.js';
import { workloadOf } from './transition.js';
import type { Transition } from './transition.js';
import { observeTransitions } from '../transition-metrics.js';

/**
 * Where committed changes go: the broker for events, the ledger for worker usage, the backlog
 * for workloads left waiting.
 */
export interface Bus {
  js: JetStreamClient;
  nc: NatsConnection;
  ledger: UsageLedger;
  backlog: Backlog;
}

/**
 * The status `event` messages of transitions, on each workload's events subject. Built from
 * typed rows, they can break no rule of the event schema (ids, times, statuses, attempts; the
 * workload is a free object), so they skip a second ajv run; consumers validate them on decode.
 */
export function statusEvents(transitions: readonly Transition[]): Outgoing<'event'>[] {
  return transitions.map((t) => ({
    kind: 'event',
    subject: SUBJECTS.events(t.row.id),
    traceparent: t.row.trace_parent,
    msgId: null,
    validated: true,
    message: enveloped<EventV1>({
      workloadId: t.row.id,
      kind: 'status',
      fromStatus: t.from,
      toStatus: t.row.status,
      attempt: t.row.attempt,
      reason: t.reason,
      workload: workloadOf(t),
    }),
  }));
}

/**
 * Records committed transitions in the usage ledger, then publishes their status events, plus
 * `live` messages, with core NATS
 * publishes (the events stream still stores them, without a PubAck round trip per event: they
 * are a live feed, PostgreSQL is the record), and `durable` ones acked through JetStream. A
 * failure is logged, not thrown: the change is already committed; throwing would only redeliver
 * messages whose effects are done.
 */
export async function publishAfterCommit(
  bus: Bus,
  transitions: readonly Transition[],
  log: Logger,
  extra: {
    /** Published before the transitions' events (earlier steps of the same workloads). */
    first?: readonly Outgoing[];
    live?: readonly Outgoing[];
    durable?: readonly Outgoing[];
    /**
     * Acks (or naks) the messages the batch handled: called once the core publishes are queued
     * and before the durable ones are awaited, so that the acks leave in the same socket write
     * as the events (the client writes what a turn queued at its end). Acked after an `await`,
     * they took a write of their own: at low rates, a wake-up more of this process and of the
     * broker for every batch.
     */
    settle?: () => void;
  } = {},
): Promise<void> {
  observeTransitions(transitions);
  for (const t of transitions) {
    bus.ledger.record(t.row);
    // A parked workload waits for the fleet to grow, not for a slot.
    if (t.row.status === WORKLOAD_STATUS.PENDING && !t.row.parked) bus.backlog.mark();
  }
  const live: Outgoing[] = [
    ...(extra.first ?? []),
    ...statusEvents(transitions),
    ...(extra.live ?? []),
  ];
  const durable = extra.durable ?? [];
  const failed = (err: unknown, count: number) =>
    log.warn({ err, count }, 'publishing events after commit failed; PostgreSQL has the changes');
  try {
    if (live.length > 0) publishCore(bus.nc, live);
  } catch (err) {
    failed(err, live.length);
  }
  extra.settle?.();
  if (durable.length === 0) return;
  try {
    await publishAll(bus.js, durable);
  } catch (err) {
    failed(err, durable.length);
  }
}
