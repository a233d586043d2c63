import type { CompiledCron } from './cron.js';

/** A firing later than this is missed, not late: it runs only within `catchUp`. */
export const MISSED_AFTER_MS = 60_000;

export interface DueInput {
  cron: CompiledCron;
  /** Every fire time up to and including this one is handled (fired, skipped or missed). */
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
  // Times at or after `lateFrom` are current; earlier ones are missed.
  const lateFrom = now.getTime() - MISSED_AFTER_MS;
  const isNew = (t: Date) => t.getTime() > after.getTime();
  const missed =
    catchUp === 0 ? [] : cron.previousRuns(catchUp, new Date(lateFrom - 1)).filter(isNew);
  const start = new Date(Math.max(after.getTime(), lateFrom - 1));
  // A minute holds at most 60 fire times (seconds-level expressions are test-only).
  const current = cron.nextRuns(61, start).filter((t) => t.getTime() <= now.getTime());
  return [...missed, ...current];
}
