import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { isoTimestamp } from '@niyanta/db';
import {
  FINAL_STATUSES,
  StatusEventBatch,
  WORKLOAD_STATUS,
  publishAll,
  publishCore,
} from '@niyanta/messages';
import type {
  Outgoing,
  ProgressChangeInput,
  StatusChangeInput,
  WorkloadStatus,
} from '@niyanta/messages';
import type { Database } from '@niyanta/db';
import type { Kysely } from 'kysely';
import type { Backlog } from '../backlog.js';
import { announceDependents, endedWithDependents } from '../dependencies/dependency-events.js';
import type { Logger } from '../logger.js';
import type { UsageLedger } from '../placement/usage-ledger.js';
import { inStepOrder } from './transition.js';
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
  /** Reads what an end did to its dependents, to announce it (dependencies/dependency-events.ts). */
  db?: Kysely<Database>;
  /** Children of these workloads ended: a parent gathering them may wake (child-waits.ts). */
  childrenEnded?: (parentIds: readonly string[]) => void;
}

/** A committed transition as a change of its transaction's status-event message. */
export function statusChange(t: Transition): StatusChangeInput {
  const row = t.row;
  return {
    workloadId: row.id,
    tenant: row.tenant,
    from: t.from,
    to: row.status as WorkloadStatus,
    attempt: row.attempt,
    reason: t.reason,
    at: isoTimestamp(row.updated_at instanceof Date ? row.updated_at : new Date(row.updated_at)),
    workerId: row.worker_id,
    progress: row.progress,
    errorCode: row.error?.code ?? null,
    pendingReason: row.pending_reason,
  };
}

/**
 * Records committed transitions in the usage ledger, then publishes their status events (ONE
 * message per tenant for the whole transaction: `earlier` steps, the transitions each after its
 * start step, `progress`),
 * plus `live` messages, with core NATS
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
    /** Published before the status events. */
    first?: readonly Outgoing[];
    /** Transitions of the same transaction before `transitions` (earlier steps of a workload). */
    earlier?: readonly Transition[];
    /** Progress stored by the same batch: part of its status-event message. */
    progress?: readonly ProgressChangeInput[];
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
  const steps = inStepOrder(transitions);
  observeTransitions(steps);
  let parents: Set<string> | undefined;
  for (const t of steps) {
    bus.ledger.record(t.row);
    // A parked workload waits for the fleet to grow, not for a slot.
    if (t.row.status === WORKLOAD_STATUS.PENDING && !t.row.parked) bus.backlog.mark();
    if (t.row.parent_id != null && FINAL_STATUSES.includes(t.row.status as WorkloadStatus))
      (parents ??= new Set()).add(t.row.parent_id);
  }
  // An end may have released dependents (now in the queue) or cancelled them.
  const ended = endedWithDependents(transitions);
  if (ended.length > 0) bus.backlog.mark();
  if (parents !== undefined) bus.childrenEnded?.([...parents]);
  // One status-event message for the whole transaction (one per tenant it touched).
  const events = new StatusEventBatch();
  for (const t of extra.earlier ?? []) events.status(statusChange(t));
  for (const t of steps) events.status(statusChange(t));
  for (const p of extra.progress ?? []) events.progress(p);
  const live: Outgoing[] = [...(extra.first ?? []), ...events.messages(), ...(extra.live ?? [])];
  const durable = extra.durable ?? [];
  const failed = (err: unknown, count: number) =>
    log.warn({ err, count }, 'publishing events after commit failed; PostgreSQL has the changes');
  try {
    if (live.length > 0) publishCore(bus.nc, live);
  } catch (err) {
    failed(err, live.length);
  }
  extra.settle?.();
  if (ended.length > 0 && bus.db !== undefined)
    await announceDependents(bus.db, bus.nc, ended, log);
  if (durable.length === 0) return;
  try {
    await publishAll(bus.js, durable);
  } catch (err) {
    failed(err, durable.length);
  }
}
