import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';

/** Backoff between attempts: doubles from `minMs` to `maxMs`, with jitter so peers do not sync. */
export function backoffMs(attempt: number, minMs: number, maxMs: number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/**
 * Runs `fn` until it succeeds, logging why each attempt failed and waiting with backoff; throws
 * only when `signal` aborts. For servers that are well named but briefly unreachable.
 */
export async function retryUntilDone<T>(
  what: string,
  fn: () => Promise<T>,
  opts: { log: Logger; signal?: AbortSignal; minMs?: number; maxMs?: number },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      opts.signal?.throwIfAborted();
      const waitMs = backoffMs(attempt, opts.minMs ?? 200, opts.maxMs ?? 5_000);
      opts.log.warn({ err, attempt, retryInMs: waitMs }, `${what} failed; retrying`);
      await sleep(waitMs, undefined, { signal: opts.signal }).catch(() => undefined);
    }
  }
}
