/** How the client retries a request the API asked it to retry (429, 503) or that never arrived. */
export interface RetryOptions {
  /** Retries after the first try (0 turns retrying off). Default 4. */
  maxRetries?: number;
  /** First backoff when the API names no `Retry-After`; doubles per retry. Default 250 ms. */
  baseDelayMs?: number;
  /** No single wait is longer, whatever `Retry-After` says. Default 30,000 ms. */
  maxDelayMs?: number;
}

/** Retry settings with every default filled in. */
export type RetryPolicy = Required<RetryOptions>;

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 4, baseDelayMs: 250, maxDelayMs: 30_000 };

/** Statuses whose request the API did not act on and asks to be retried. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/** The wait before retry number `retry` (0-based): `Retry-After` when given, else backoff with jitter. */
export function retryDelayMs(
  policy: RetryPolicy,
  retry: number,
  retryAfter: string | null,
  now = Date.now(),
): number {
  const named = parseRetryAfterMs(retryAfter, now);
  const backoff = policy.baseDelayMs * 2 ** retry;
  const delay = named ?? backoff / 2 + Math.random() * (backoff / 2);
  return Math.max(0, Math.min(policy.maxDelayMs, delay));
}

/** `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date; undefined if absent or bad. */
export function parseRetryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
