import type { SSEMessage, SSEStreamingApi } from 'hono/streaming';
import type { ApiContext } from './api-context.js';
import type { LogLine } from './log-reader.js';

/** A comment line keeps proxies from closing an idle stream. */
export const SSE_KEEP_ALIVE_MS = 15_000;

/** Event names of the API's Server-Sent Events. */
export const SSE_EVENTS = { status: 'status', progress: 'progress', log: 'log' } as const;

/** One `event: log` per line. */
export function logMessages(workloadId: string, lines: LogLine[]): SSEMessage[] {
  return lines.map((l) => ({ event: SSE_EVENTS.log, data: JSON.stringify({ workloadId, ...l }) }));
}
/**
 * Runs one SSE stream until the client leaves or the API shuts down: `send` writes in order,
 * keep-alive comments go out every SSE_KEEP_ALIVE_MS.
 */
export async function runStream(
  ctx: ApiContext,
  stream: SSEStreamingApi,
  body: (send: (m: SSEMessage) => void, signal: AbortSignal) => Promise<void> | void,
): Promise<void> {
  const controller = new AbortController();
  const finish = () => controller.abort();
  const unregister = ctx.streams.add(finish);
  stream.onAbort(finish);
  let chain: Promise<unknown> = Promise.resolve();
  const enqueue = (write: () => Promise<unknown>) => {
    chain = chain.then(write).catch(() => undefined);
  };
  const send = (m: SSEMessage) => enqueue(() => stream.writeSSE(m));
  const keepAlive = setInterval(
    () => enqueue(() => stream.write(': keep-alive\n\n')),
    SSE_KEEP_ALIVE_MS,
  );
  try {
    if (stream.aborted) return;
    await body(send, controller.signal);
    if (!controller.signal.aborted) {
      await new Promise<void>((resolve) =>
        controller.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    }
  } catch (err) {
    ctx.log.warn({ err }, 'an event stream failed; closing it');
  } finally {
    clearInterval(keepAlive);
    unregister();
    await chain;
  }
}
