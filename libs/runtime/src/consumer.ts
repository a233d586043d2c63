import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { Batcher } from './batcher.js';
import { retryUntilDone } from './retry.js';

/** A running durable consumer; dispose stops intake and waits for batches in flight. */
export interface BatchConsumer extends AsyncDisposable {
  stop(): Promise<void>;
}

const NAK_DELAY_MS = 1_000;

/**
 * Consumes a durable pull consumer and hands its messages to `handle` in batches (up to
 * `maxBatch`). `handle` acks or terms each message; if it throws, the whole batch is nak-ed with
 * a delay and comes back. Survives broker restarts: `ensure` (re)creates the consumer.
 */
export function consumeBatches(opts: {
  js: JetStreamClient;
  stream: string;
  consumer: string;
  ensure: () => Promise<unknown>;
  handle: (msgs: JsMsg[]) => Promise<void>;
  log: Logger;
  maxBatch?: number;
  maxMessages?: number;
}): BatchConsumer {
  const { log } = opts;
  const controller = new AbortController();
  const maxBatch = opts.maxBatch ?? 500;
  const batcher = new Batcher<JsMsg>(opts.handle, {
    maxBatch,
    onError: (err, msgs) => {
      log.error({ err, consumer: opts.consumer, count: msgs.length }, 'batch failed; redelivering');
      for (const m of msgs) m.nak(NAK_DELAY_MS);
    },
  });
  let current: ConsumerMessages | undefined;

  const loop = async () => {
    while (!controller.signal.aborted) {
      try {
        await retryUntilDone(`create consumer ${opts.consumer}`, opts.ensure, {
          log,
          signal: controller.signal,
        });
        const consumer = await opts.js.consumers.get(opts.stream, opts.consumer);
        // A deleted consumer (a worker declared dead has its consumers removed by the scheduler)
        // ends the iteration instead of waiting for ever: the loop re-creates it with `ensure`.
        current = await consumer.consume({
          max_messages: opts.maxMessages ?? 1_000,
          abort_on_missing_resource: true,
        });
        if (controller.signal.aborted) break;
        for await (const m of current) {
          batcher.push(m);
          // Backpressure: the client pulls more only as this loop takes messages, so waiting here
          // bounds what is delivered but not yet handled to about maxMessages + maxBatch. Every
          // such message runs down its ack_wait (see CONSUMER_DEFAULTS) while it waits.
          if (batcher.size >= maxBatch) await batcher.idle();
        }
      } catch (err) {
        if (controller.signal.aborted) break;
        log.warn({ err, consumer: opts.consumer }, 'consumer interrupted; restarting');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  const done = loop();
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      controller.abort();
      await current?.close().catch(() => undefined);
      await done;
      await batcher.idle();
    })());
  return { stop, [Symbol.asyncDispose]: stop };
}
