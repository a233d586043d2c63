import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { SSEMessage, SSEStreamingApi } from 'hono/streaming';
import type { ApiContext } from './api-context.js';
import type { LogLine } from './log-reader.js';
import type { SseSlot } from './sse-registry.js';

/** A comment line keeps proxies from closing an idle stream. */
export const SSE_KEEP_ALIVE_MS = 15_000;

/** Event names of the API's Server-Sent Events. */
export const SSE_EVENTS = { status: 'status', progress: 'progress', log: 'log' } as const;

const KEEP_ALIVE = ': keep-alive\n\n';

/** One `event: log` per line. */
export function logMessages(workloadId: string, lines: LogLine[]): SSEMessage[] {
  return lines.map((l) => ({ event: SSE_EVENTS.log, data: JSON.stringify({ workloadId, ...l }) }));
}

/** Destroys the socket of the request `c` (a no-op outside Node's HTTP server). */
export function socketCloser(c: Context): () => void {
  return () => (c.env as Partial<HttpBindings> | undefined)?.outgoing?.destroy();
}

/** What a stream's body may do: send in order, end the stream once what was sent is out. */
export interface StreamControls {
  send(m: SSEMessage): void;
  /** Ends the stream after the messages sent so far. */
  end(): void;
  /** Resolves once the client has taken what was sent so far (for bodies that can wait). */
  flushed(): Promise<void>;
  signal: AbortSignal;
}

/** Bytes of a message on the wire, near enough to bound a queue (UTF-16 length of the parts). */
function messageBytes(m: SSEMessage): number {
  return (typeof m.data === 'string' ? m.data.length : 0) + (m.event?.length ?? 0) + 16;
}

/**
 * Runs one SSE stream in `slot` until the body ends it, the client leaves or the API shuts down:
 * `send` writes in order, keep-alive comments go out every SSE_KEEP_ALIVE_MS. Writes wait for the
 * client to take the bytes; a client that falls more than the registry's `queueMaxBytes` behind
 * is disconnected (`disconnect` destroys its socket), so a slow reader never holds the API's
 * memory. It can reconnect: a new stream starts from the current state.
 */
export async function runStream(
  ctx: ApiContext,
  slot: SseSlot,
  stream: SSEStreamingApi,
  disconnect: () => void,
  body: (controls: StreamControls) => Promise<void> | void,
): Promise<void> {
  const controller = new AbortController();
  const finish = () => controller.abort();
  slot.onClose(finish);
  stream.onAbort(finish);
  const { queueMaxBytes } = ctx.streams.limits;
  let queued = 0;
  let chain: Promise<unknown> = Promise.resolve();
  const enqueue = (bytes: number, write: () => Promise<unknown>) => {
    if (controller.signal.aborted) return;
    // One message larger than the bound passes when nothing else waits (a log message can be
    // near the broker's max_payload): the bound is on a client falling behind, not on a size.
    if (queued > 0 && queued + bytes > queueMaxBytes) {
      ctx.log.warn(
        { queuedBytes: queued, queueMaxBytes },
        'an event stream reads too slowly; disconnecting it',
      );
      ctx.metrics.sseSlowDisconnects.inc();
      finish();
      stream.abort();
      disconnect();
      return;
    }
    queued += bytes;
    chain = chain
      .then(write)
      .catch(() => undefined)
      .finally(() => (queued -= bytes));
  };
  const send = (m: SSEMessage) => enqueue(messageBytes(m), () => stream.writeSSE(m));
  const end = () => {
    chain = chain.then(finish);
  };
  const keepAlive = setInterval(
    () => enqueue(KEEP_ALIVE.length, () => stream.write(KEEP_ALIVE)),
    SSE_KEEP_ALIVE_MS,
  );
  ctx.metrics.sseStreams.inc();
  try {
    if (stream.aborted) return;
    const flushed = async () => {
      await chain;
    };
    await body({ send, end, flushed, signal: controller.signal });
    if (!controller.signal.aborted) {
      await new Promise<void>((resolve) =>
        controller.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    }
  } catch (err) {
    ctx.log.warn({ err }, 'an event stream failed; closing it');
  } finally {
    clearInterval(keepAlive);
    ctx.metrics.sseStreams.dec();
    await chain;
    slot.release();
  }
}
