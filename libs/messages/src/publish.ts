import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { encode } from './codec.js';
import { traceHeaders } from './trace.js';
import type { MessageKind, MessageTypes } from './validation.js';

/** One message to publish to JetStream. */
export interface Outgoing<K extends MessageKind = MessageKind> {
  kind: K;
  subject: string;
  message: MessageTypes[K];
  /** Nats-Msg-Id for broker-side dedupe; defaults to the message id when it has one. */
  msgId?: string;
  /** Trace to continue. */
  traceparent?: string | null;
}

/**
 * Publishes many messages asynchronously and awaits the acks together: one round trip's latency
 * for the whole batch instead of one per message.
 */
export async function publishAll(
  js: JetStreamClient,
  items: readonly Outgoing[],
): Promise<PubAck[]> {
  return Promise.all(
    items.map((item) => {
      const data = encode(item.kind, item.message as never);
      const msgID = item.msgId ?? (item.message as { id?: string }).id;
      return js.publish(item.subject, data, {
        headers: traceHeaders(item.traceparent),
        ...(msgID ? { msgID } : {}),
      });
    }),
  );
}

/** Publishes one message and awaits its ack. */
export async function publishOne<K extends MessageKind>(
  js: JetStreamClient,
  item: Outgoing<K>,
): Promise<PubAck> {
  const [ack] = await publishAll(js, [item as Outgoing]);
  return ack!;
}

/**
 * Publishes messages with core NATS, no PubAck: for live feeds whose record is elsewhere (status
 * events: PostgreSQL has them). A stream bound to the subject still stores them. Much cheaper
 * than `publishAll`: no request, inbox or timer per message.
 */
export function publishCore(nc: NatsConnection, items: readonly Outgoing[]): void {
  for (const item of items) {
    const data = encode(item.kind, item.message as never);
    const headers = traceHeaders(item.traceparent);
    const msgID = item.msgId ?? (item.message as { id?: string }).id;
    if (msgID) headers.set('Nats-Msg-Id', msgID);
    nc.publish(item.subject, data, { headers });
  }
}
