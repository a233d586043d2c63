import type { CompiledCron } from './cron.js';

/** A firing later than this is missed, not late: it runs only within `catchUp`. */
export const MISSED_AFTER_MS = 60_000;

export interface DueInput {
  cron: CompiledCron;
  /** Every fire time at or before this was handled already (fired, skipped or missed). */
  after: Date;
  now: Date;
  /** How many missed firings (older than MISSED_AFTER_MS) still run: 0–100. */
  catchUp: number;
}

/**
 * Which fire times in (after, now] to submit. A time less than MISSED_AFTER_MS old fires (a
 * scheduler restart delays it, never drops it); older ones are missed and only the latest
 * `catchUp` of them fire. Pure: the caller records `now` as handled afterwards.
 */
export function dueFireTimes({ cron, after, now, catchUp }: DueInput): Date[] {
  const recent = cron.previousRuns(catchUp + 1, now).filter((t) => t.getTime() > after.getTime());
  const late = (t: Date) => now.getTime() - t.getTime() > MISSED_AFTER_MS;
  const missed = recent.filter(late);
  const caughtUp = catchUp === 0 ? [] : missed.slice(-catchUp);
  return [...caughtUp, ...recent.filter((t) => !late(t))];
}
