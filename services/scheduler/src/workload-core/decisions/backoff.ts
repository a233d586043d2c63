/**
 * Delay before retry after a failed `attempt` (1-based): equal jitter on an exponential cap,
 * `cap = min(maxMs, baseMs * 2^(attempt-1))`, result in `[cap/2, cap]`. Equal rather than full
 * jitter so a retry never fires at once after a failure (full jitter can pick 0).
 */
export function retryBackoffMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/** `1.5s` under ten seconds, `42s` above: for pending reasons people read. */
export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return s < 10 ? `${Number(s.toFixed(1))}s` : `${Math.round(s)}s`;
}
