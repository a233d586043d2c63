import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { Batcher } from './batcher.js';
import { instrumentHandler, watchLag } from './consume-telemetry.js';
import type { DeadLetters } from './dead-letters.js';
import { backoffMs, retryUntilDone } from './retry.js';
import { isTransientError } from './transient.js';

/** A running durable consumer; dispose stops intake and waits for batches in flight. */
export interface BatchConsumer extends AsyncDisposable {
  stop(): Promise<void>;
}

/** Backoff of a message redelivered after a failure: from this, doubling with its deliveries... */
export const RETRY_MIN_MS = 1_000;
/** ...up to this. */
export const RETRY_MAX_MS = 30_000;
/**
 * While a failed batch is retried one message at a time, the messages still waiting are told
 * the server they are in progress this often, so that their ack wait (10 s) does not run out and
 * bring them again meanwhile.
 */
const KEEP_ALIVE_MS = 4_000;

/** Whether the message was acked, nak-ed or terminated already (by the handler, say). */
function isSettled(msg: JsMsg): boolean {
  // JsMsgImpl's own flag: every ack but a progress report sets it, and later ones are dropped.
  return (msg as unknown as { didAck?: unknown }).didAck === true;
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/**
 * Consumes a durable pull consumer and hands its messages to `handle` in batches (up to
 * `maxBatch`). `handle` acks, naks or terms each message (through `deadLetters` when it refuses
 * one). When it throws for a batch:
 * - a transient failure (PostgreSQL or the broker unavailable: see isTransientError) naks every
 *   message still unsettled with backoff: an outage never dead-letters anything;
 * - any other failure retries the batch's messages one by one, each alone through `handle`, so
 *   that the others go through. One that fails alone is nak-ed with backoff; once it has been
 *   delivered `maxDeliver` times it is a dead letter (recorded, announced, terminated). A
 *   transient failure on the way naks that message and the rest with backoff.
 * A batch that succeeds costs nothing of this. Survives broker restarts: `ensure` (re)creates
 * the consumer.
 */
export function consumeBatches(opts: {
  js: JetStreamClient;
  stream: string;
  consumer: string;
  ensure: () => Promise<unknown>;
  handle: (msgs: JsMsg[]) => Promise<void>;
  log: Logger;
  /** This consumer's dead letters. */
  deadLetters: DeadLetters;
  /** Deliveries after which a message whose handling fails on its own is a dead letter (>= 1). */
  maxDeliver: number;
  maxBatch?: number;
  maxMessages?: number;
  /** Backoff of redelivered messages (default RETRY_MIN_MS to RETRY_MAX_MS). */
  retryMinMs?: number;
  retryMaxMs?: number;
}): BatchConsumer {
  const { log, deadLetters, maxDeliver } = opts;
  const handle = instrumentHandler(opts.stream, opts.consumer, opts.handle);
  const controller = new AbortController();
  const maxBatch = opts.maxBatch ?? 500;
  const retryDelayMs = (m: JsMsg) =>
    backoffMs(
      m.info.deliveryCount,
      opts.retryMinMs ?? RETRY_MIN_MS,
      opts.retryMaxMs ?? RETRY_MAX_MS,
    );
  const nakAll = (msgs: readonly JsMsg[]) => {
    for (const m of msgs) if (!isSettled(m)) m.nak(retryDelayMs(m));
  };

  /** One message failed on its own: redelivered later, or a dead letter after maxDeliver. */
  const failedAlone = async (msg: JsMsg, err: unknown): Promise<void> => {
    const deliveries = msg.info.deliveryCount;
    if (deliveries < maxDeliver) {
      log.warn(
        {
          err,
          consumer: opts.consumer,
          subject: msg.subject,
          streamSeq: msg.seq,
          deliveries,
          maxDeliver,
        },
        'message failed on its own; redelivering it later',
      );
      msg.nak(retryDelayMs(msg));
      return;
    }
    try {
      await deadLetters.refuse([{ msg, error: describe(err) }]);
    } catch (recordErr) {
      log.warn(
        { err: recordErr, consumer: opts.consumer },
        'dead letter not recorded; redelivering',
      );
      msg.nak(retryDelayMs(msg));
    }
  };

  const recover = async (err: unknown, msgs: JsMsg[]): Promise<void> => {
    const open = msgs.filter((m) => !isSettled(m));
    if (open.length === 0) return;
    if (isTransientError(err)) {
      log.warn(
        { err, consumer: opts.consumer, count: open.length },
        'batch failed on a transient error; redelivering it with backoff',
      );
      nakAll(open);
      return;
    }
    if (open.length === 1) {
      await failedAlone(open[0]!, err);
      return;
    }
    log.warn(
      { err, consumer: opts.consumer, count: open.length },
      'batch failed; retrying its messages one by one',
    );
    let touched = Date.now();
    for (let i = 0; i < open.length; i++) {
      const msg = open[i]!;
      if (isSettled(msg)) continue;
      if (Date.now() - touched >= KEEP_ALIVE_MS) {
        for (const rest of open.slice(i)) if (!isSettled(rest)) rest.working();
        touched = Date.now();
      }
      try {
        await handle([msg]);
      } catch (alone) {
        if (isSettled(msg)) continue;
        if (isTransientError(alone)) {
          log.warn(
            { err: alone, consumer: opts.consumer, count: open.length - i },
            'retry failed on a transient error; redelivering the rest with backoff',
          );
          nakAll(open.slice(i));
          return;
        }
        await failedAlone(msg, alone);
      }
    }
  };

  const batcher = new Batcher<JsMsg>(handle, {
    maxBatch,
    // Whatever fails here (a nak on a closed connection) leaves the messages to their ack wait.
    onError: (err, msgs) =>
      recover(err, msgs).catch((recoverErr: unknown) =>
        log.error({ err: recoverErr, consumer: opts.consumer }, 'failed batch not settled'),
      ),
  });
  let current: ConsumerMessages | undefined;
  let live: Consumer | undefined;
  const unwatch = watchLag(opts.stream, opts.consumer, () => live);

  const loop = async () => {
    while (!controller.signal.aborted) {
      try {
        await retryUntilDone(`create consumer ${opts.consumer}`, opts.ensure, {
          log,
          signal: controller.signal,
        });
        const consumer = await opts.js.consumers.get(opts.stream, opts.consumer);
        live = consumer;
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
      unwatch();
      await current?.close().catch(() => undefined);
      await done;
      await batcher.idle();
    })());
  return { stop, [Symbol.asyncDispose]: stop };
}
