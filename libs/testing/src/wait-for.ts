import { setTimeout as delay } from 'node:timers/promises';
import { WaitTimeoutError } from './errors.js';

export interface WaitForOptions {
  /** Deadline in milliseconds; default 10000. */
  timeoutMs?: number;
  /** Pause between checks in milliseconds; default 25. */
  intervalMs?: number;
  /** What is awaited, for the timeout error: "the worker to register". */
  message?: string;
}

const TIMED_OUT = Symbol('timed out');

/**
 * Polls `check` until it returns a truthy value and returns that value. A throwing check counts
 * as "not yet"; on the deadline the error names `message`, the timeout and the last error.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  opts: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 25;
  const message = opts.message ?? 'the condition';
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const remaining = deadline - Date.now();
    // A check that hangs (a fetch to a stopped process) must not outlive the deadline.
    const timer = new AbortController();
    try {
      const value = await Promise.race([
        Promise.resolve().then(check),
        delay(Math.max(remaining, 0), TIMED_OUT, { signal: timer.signal }),
      ]);
      if (value !== TIMED_OUT && value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    } finally {
      timer.abort();
    }
    if (Date.now() >= deadline) {
      const last =
        lastError === undefined
          ? ''
          : ` Last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new WaitTimeoutError(
        `Timed out after ${timeoutMs} ms waiting for ${message}.${last}`,
        timeoutMs,
        {
          cause: lastError,
        },
      );
    }
    await delay(Math.min(intervalMs, Math.max(deadline - Date.now(), 0)));
  }
}
