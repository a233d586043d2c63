import type { ConsumerMessages } from '@nats-io/jetstream';
import { decode, ensureConsumer, STREAMS, traceparentOf } from '@niyanta/messages';
import type { CompletionBatchV1, MessageKind, MessageTypes } from '@niyanta/messages';
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

/** One completion of a `completion-batch`, with the fields of the message that carried it. */
export type CollectedCompletion = CompletionBatchV1['completions'][number] & {
  workerId: string;
  /** The id of the batch message (its traces are under it). */
  batchId: string;
  /** When the batch message was made. */
  time: string;
};

/** The completion batches on NIYANTA_COMPLETE, and their completions one by one. */
export interface CompletionCollector extends Collector<'completionBatch'> {
  readonly completions: CollectedCompletion[];
}

/** Collects `completion-batch` messages and flattens their completions, in stream order. */
export async function collectCompletions(nats: Nats): Promise<CompletionCollector> {
  const batches = await collect(nats, STREAMS.complete.name, 'completionBatch');
  return {
    get items() {
      return batches.items;
    },
    invalid: batches.invalid,
    traces: batches.traces,
    close: () => batches.close(),
    get completions() {
      return batches.items.flatMap((b) =>
        b.completions.map((c) => ({ ...c, workerId: b.workerId, batchId: b.id, time: b.time })),
      );
    },
  };
}
