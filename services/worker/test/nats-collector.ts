import type { ConsumerMessages } from '@nats-io/jetstream';
import { decode, ensureConsumer, traceparentOf } from '@niyanta/messages';
import type { MessageKind, MessageTypes } from '@niyanta/messages';
import type { Nats } from '@niyanta/runtime';

/** Every message of one kind seen on a stream, decoded, in stream order; acked as it is read. */
export interface Collector<K extends MessageKind> {
  readonly items: MessageTypes[K][];
  /** Messages that failed to decode: the worker published something invalid. */
  readonly invalid: string[];
  /** The `traceparent` header of each message, by message id. */
  readonly traces: Map<string, string | undefined>;
  close(): Promise<void>;
}

/** Reads a stream through a durable consumer of its own (work-queue streams allow one per subject). */
export async function collect<K extends MessageKind>(
  nats: Nats,
  stream: string,
  kind: K,
): Promise<Collector<K>> {
  const durable = `test-collector-${kind}`;
  await ensureConsumer(nats.jsm, { stream, durable_name: durable });
  const consumer = await nats.js.consumers.get(stream, durable);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 1000 });
  const items: MessageTypes[K][] = [];
  const invalid: string[] = [];
  const traces = new Map<string, string | undefined>();
  const loop = (async () => {
    for await (const m of messages) {
      const decoded = decode(kind, m.data);
      if (decoded.ok) {
        items.push(decoded.value);
        traces.set((decoded.value as { id: string }).id, traceparentOf(m.headers));
      } else invalid.push(decoded.reason);
      m.ack();
    }
  })();
  return {
    items,
    invalid,
    traces,
    async close() {
      await messages.close();
      await loop;
    },
  };
}
