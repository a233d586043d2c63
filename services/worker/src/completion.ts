import type { JetStreamClient } from '@nats-io/jetstream';
import {
  MAX_JSON_DEPTH,
  MESSAGE_DEPTH_ALLOWANCE,
  envelope,
  publishOne,
  sanitizeJson,
  storableErrors,
  SUBJECTS,
  validateMessage,
} from '@niyanta/messages';
import type { CompletionBatchV1 } from '@niyanta/messages';
import { retryUntilDone } from '@niyanta/runtime';
import type { Logger } from './logger.js';

/** One completion of a `completion-batch` message: the end of one attempt on this worker. */
export type CompletionBody = CompletionBatchV1['completions'][number];

/** A completion larger than this cannot be published (NATS's default max payload is 1 MiB). */
export const COMPLETION_MAX_BYTES = 900 * 1024;
/**
 * A completion queued while an earlier message still waits for its ack waits at most this long
 * for others to share its message.
 */
export const COMPLETION_LINGER_MS = 2;
/** A batch is sent at once when this many completions are queued (the schema allows 1,000). */
export const COMPLETION_BATCH_MAX = 500;
/** A batch is sent at once before its completions' JSON would pass this (one NATS message). */
export const COMPLETION_BATCH_MAX_BYTES = COMPLETION_MAX_BYTES;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;
/** The deepest a completion-batch message may nest: consumers refuse a deeper one. */
const COMPLETION_MAX_DEPTH = MAX_JSON_DEPTH + (MESSAGE_DEPTH_ALLOWANCE.completionBatch ?? 0);

/** Completions waiting for their message; all resolve together when it is acked. */
interface OpenBatch {
  items: CompletionBody[];
  bytes: number;
  /** The trace of the first completion: a message carries one `traceparent` header. */
  traceparent: string | undefined;
  acked: Promise<void>;
  resolve: () => void;
}

/**
 * The worker's completions, sent as `completion-batch` messages on
 * `niyanta.completions.<workerId>`. While an earlier message waits for its ack, a completion
 * waits up to {@link COMPLETION_LINGER_MS} for others, so a busy worker sends one acked message
 * for many short runs; while none does, it goes at the end of the current turn of the event loop
 * with whatever else that turn completed (at low load the linger only cost a timer's wake-up and
 * its 2 ms, and shared the message with nothing). Each message is built
 * once and retried with backoff until the broker acks it (the same Nats-Msg-Id each time, so a
 * retry after a lost ack is dropped as a duplicate): an outcome is not lost while the process
 * lives.
 */
export class CompletionBatcher {
  private open: OpenBatch | undefined;
  private scheduled: { cancel(): void } | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly subject: string;
  private lingerMs: number;
  private readonly maxItems: number;
  private readonly maxBytes: number;

  constructor(
    private readonly opts: {
      js: JetStreamClient;
      workerId: string;
      log: Logger;
      lingerMs?: number;
      /** Whether a completion queued while no message is unacked goes at the end of the turn (default). */
      sendWhenIdle?: boolean;
      maxItems?: number;
      maxBytes?: number;
    },
  ) {
    this.subject = SUBJECTS.completions(opts.workerId);
    this.lingerMs = opts.lingerMs ?? COMPLETION_LINGER_MS;
    this.maxItems = opts.maxItems ?? COMPLETION_BATCH_MAX;
    this.maxBytes = opts.maxBytes ?? COMPLETION_BATCH_MAX_BYTES;
  }

  /** Queues a completion; resolves once the message carrying it is acked by the broker. */
  send(body: CompletionBody, traceparent?: string): Promise<void> {
    const { item, bytes } = this.publishable(body);
    // Sent before it would pass the size limit; a single completion always fits one message.
    if (this.open !== undefined && this.open.bytes + bytes > this.maxBytes) this.flushOpen();
    const batch = (this.open ??= openBatch(traceparent));
    batch.items.push(item);
    batch.bytes += bytes;
    if (batch.items.length >= this.maxItems || batch.bytes >= this.maxBytes) this.flushOpen();
    else this.scheduled ??= this.schedule();
    return batch.acked;
  }

  /**
   * For a drain: what is queued goes now, and from now on a completion waits only for the others
   * of the same turn of the event loop.
   */
  stopLingering(): void {
    this.lingerMs = 0;
    this.flushOpen();
  }

  /** Sends what is queued now; resolves once every completion queued so far is acked. */
  async flush(): Promise<void> {
    this.flushOpen();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** When the open batch goes: at the end of this turn while nothing is unacked, else after the linger. */
  private schedule(): { cancel(): void } {
    if (this.lingerMs === 0 || (this.inFlight.size === 0 && this.opts.sendWhenIdle !== false)) {
      const immediate = setImmediate(() => this.flushOpen());
      return { cancel: () => clearImmediate(immediate) };
    }
    const timeout = setTimeout(() => this.flushOpen(), this.lingerMs);
    return { cancel: () => clearTimeout(timeout) };
  }

  private flushOpen(): void {
    this.scheduled?.cancel();
    this.scheduled = undefined;
    const batch = this.open;
    if (batch === undefined) return;
    this.open = undefined;
    const p = this.publish(batch).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async publish(batch: OpenBatch): Promise<void> {
    const { js, log, workerId } = this.opts;
    const message: CompletionBatchV1 = {
      ...envelope(),
      workerId,
      completions: batch.items as CompletionBatchV1['completions'],
    };
    const count = batch.items.length;
    await retryUntilDone(
      `publish ${count} completion(s) in message ${message.id}`,
      () =>
        publishOne(js, {
          kind: 'completionBatch',
          subject: this.subject,
          message,
          traceparent: batch.traceparent,
          // Every item passed `publishable` (the same schema) and the envelope is built here.
          validated: true,
        }),
      { log, minMs: RETRY_MIN_MS, maxMs: RETRY_MAX_MS },
    );
    if (log.isLevelEnabled('debug')) log.debug({ id: message.id, count }, 'completions published');
    batch.resolve();
  }

  /**
   * A completion that can be published: U+0000 and lone surrogates in its result or error become
   * U+FFFD (PostgreSQL stores neither). One nested too deep or breaking the schema or the size
   * limit would be refused by the scheduler (or retried forever, taking its batch with it), so
   * it becomes a non-retryable failure saying why.
   */
  private publishable(body: CompletionBody): { item: CompletionBody; bytes: number } {
    const probe = (completion: CompletionBody) => ({
      ...PROBE_ENVELOPE,
      workerId: this.opts.workerId,
      completions: [completion],
    });
    // Depth first, without recursion: JSON.stringify of a result nested thousands deep throws.
    const tooDeep = storableErrors(probe(body), {
      maxDepth: COMPLETION_MAX_DEPTH,
      checkText: false,
    });
    const item = tooDeep.length === 0 ? sanitizeJson(body) : body;
    const errors = tooDeep.length > 0 ? tooDeep : validateMessage('completionBatch', probe(item));
    // +1: the comma between items.
    const bytes = errors.length === 0 ? Buffer.byteLength(JSON.stringify(item)) + 1 : 0;
    if (errors.length === 0 && bytes <= COMPLETION_MAX_BYTES) return { item, bytes };
    const reason =
      errors.length > 0
        ? `is not a valid completion (${errors.map((e) => `${e.path.replace(ITEM_PATH, '') || '/'} ${e.message}`).join('; ')})`
        : `is ${bytes} bytes, over the ${COMPLETION_MAX_BYTES}-byte limit of a message`;
    this.opts.log.error(
      { workloadId: item.workloadId, attempt: item.attempt, outcome: item.outcome, reason },
      'completion cannot be published; recording a failure instead',
    );
    const { result: _result, error: _error, ...rest } = item;
    const failed: CompletionBody = {
      ...rest,
      outcome: 'failed',
      error: {
        message: `The ${item.outcome} outcome of attempt ${item.attempt} ${reason}. Return a smaller result (store large data elsewhere and return a reference).`,
        code: bytes > COMPLETION_MAX_BYTES ? 'RESULT_TOO_LARGE' : 'INVALID_COMPLETION',
        retryable: false,
      },
    };
    return { item: failed, bytes: Buffer.byteLength(JSON.stringify(failed)) + 1 };
  }
}

/** Fixed envelope fields for validating one completion as a batch of one. */
const PROBE_ENVELOPE = {
  schemaVersion: 1,
  id: '00000000-0000-7000-8000-000000000000',
  time: '2000-01-01T00:00:00.000Z',
} as const;
const ITEM_PATH = /^\/completions\/0/;

function openBatch(traceparent: string | undefined): OpenBatch {
  let resolve!: () => void;
  const acked = new Promise<void>((r) => (resolve = r));
  return { items: [], bytes: 0, traceparent, acked, resolve };
}
