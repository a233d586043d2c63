import type { JetStreamManager } from '@nats-io/jetstream';
import { CONSUMERS, STREAMS, workerConsumers } from '@niyanta/messages';

/** How often a wait with a deadline looks again. */
const POLL_INTERVAL_MS = 100;

/** A durable consumer a service reads, and whether its stream is a work queue. */
export interface ServiceConsumer {
  stream: string;
  durable: string;
  workQueue: boolean;
}

const WORK_QUEUES: ReadonlySet<string> = new Set(
  Object.values(STREAMS)
    .filter((s) => (s as { retention?: string }).retention === 'workqueue')
    .map((s) => s.name),
);

/** Every service's consumer (CONSUMERS) and the assign and control consumers of each worker. */
export function serviceConsumers(workerIds: readonly string[]): ServiceConsumer[] {
  const defs: { stream: string; durable_name: string }[] = [
    ...Object.values(CONSUMERS),
    ...workerIds.flatMap((id) => Object.values(workerConsumers(id))),
  ];
  return defs.map((d) => ({
    stream: d.stream,
    durable: d.durable_name,
    workQueue: WORK_QUEUES.has(d.stream),
  }));
}

/** What a consumer holds: delivered but not acked, not yet delivered, redelivered. */
export interface ConsumerBacklog {
  durable: string;
  ackPending: number;
  pending: number;
  redelivered: number;
}

async function backlogOf(jsm: JetStreamManager, c: ServiceConsumer): Promise<ConsumerBacklog> {
  const info = await jsm.consumers.info(c.stream, c.durable);
  return {
    durable: c.durable,
    ackPending: info.num_ack_pending,
    pending: info.num_pending,
    redelivered: info.num_redelivered,
  };
}

const drained = (c: ServiceConsumer, b: ConsumerBacklog) =>
  b.ackPending === 0 && (!c.workQueue || b.pending === 0);

/**
 * Waits until each consumer has been seen drained (num_ack_pending 0 and, on a work queue,
 * num_pending 0) at least once within `timeoutMs`; answers those never seen drained, with their
 * last figures (empty when all drained). A consumer that does not exist counts as stalled.
 */
export async function stalledConsumers(
  jsm: JetStreamManager,
  consumers: readonly ServiceConsumer[],
  timeoutMs: number,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const waiting = new Map(consumers.map((c) => [c.durable, c]));
  const last = new Map<string, string>();
  for (;;) {
    await Promise.all(
      [...waiting.values()].map(async (c) => {
        try {
          const b = await backlogOf(jsm, c);
          if (drained(c, b)) waiting.delete(c.durable);
          else
            last.set(
              c.durable,
              `${c.durable}: num_ack_pending ${b.ackPending}, num_pending ${b.pending}, num_redelivered ${b.redelivered}`,
            );
        } catch (err) {
          last.set(c.durable, `${c.durable}: ${(err as Error).message}`);
        }
      }),
    );
    if (waiting.size === 0 || Date.now() >= deadline)
      return [...waiting.keys()].map((d) => last.get(d) ?? d);
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}
