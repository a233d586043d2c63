import { Cron } from 'croner';
import { ScheduleFieldError } from './errors.js';

/** The names that stand for a whole expression, as in Vixie cron. */
export const CRON_NICKNAMES = [
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@midnight',
  '@hourly',
] as const;

export const DEFAULT_TIMEZONE = 'UTC';

/** What a schedule's times are computed from. */
export interface CronSpec {
  cron: string;
  /** An IANA zone name; default UTC. */
  timezone?: string | undefined;
  /**
   * Test-only: accept a sixth, leading seconds field (SCHEDULE_TEST_SECONDS), so that a test can
   * watch firings every few seconds instead of every minute.
   */
  allowSeconds?: boolean;
}

/** A validated cron expression in its zone. */
export interface CompiledCron {
  /** The next `n` fire times strictly after `after`, earliest first. */
  nextRuns(n: number, after: Date): Date[];
  /** The last `n` fire times at or before `at`, earliest first. */
  previousRuns(n: number, at: Date): Date[];
}

function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new ScheduleFieldError(
      '/timezone',
      `timezone ${JSON.stringify(timezone)} is not an IANA time zone name (e.g. "Europe/Berlin", "UTC")`,
    );
  }
}

function fieldCount(cron: string): number {
  return cron.trim().split(/\s+/).length;
}

/**
 * Checks an expression and its zone; throws `ScheduleFieldError` naming the field. Five fields
 * (minute hour day-of-month month day-of-week) or one of CRON_NICKNAMES. Daylight-saving changes
 * follow Vixie cron: a time in a skipped hour fires once just after the gap, a time in a repeated
 * hour fires once.
 */
export function compileCron(spec: CronSpec): CompiledCron {
  const timezone = spec.timezone ?? DEFAULT_TIMEZONE;
  checkTimezone(timezone);
  const cron = spec.cron.trim();
  const nickname = cron.startsWith('@');
  if (nickname && !(CRON_NICKNAMES as readonly string[]).includes(cron.toLowerCase())) {
    throw new ScheduleFieldError(
      '/cron',
      `cron ${JSON.stringify(cron)} is not a known name: use one of ${CRON_NICKNAMES.join(', ')}, or five fields`,
    );
  }
  const fields = nickname ? 5 : fieldCount(cron);
  const seconds = spec.allowSeconds === true && fields === 6;
  if (fields !== 5 && !seconds) {
    throw new ScheduleFieldError(
      '/cron',
      `cron ${JSON.stringify(cron)} has ${fields} fields: use five (minute hour day-of-month month day-of-week), e.g. "0 2 * * *"`,
    );
  }
  let job: Cron;
  try {
    job = new Cron(nickname ? cron.toLowerCase() : cron, {
      timezone,
      paused: true,
      mode: seconds ? '6-part' : '5-part',
    });
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^CronPattern: /, '') : String(err);
    throw new ScheduleFieldError('/cron', `cron ${JSON.stringify(cron)} is not valid: ${why}`);
  }
  if (job.nextRun(new Date(0)) === null) {
    throw new ScheduleFieldError('/cron', `cron ${JSON.stringify(cron)} never fires`);
  }
  return {
    nextRuns: (n, after) => job.nextRuns(n, after),
    previousRuns: (n, at) => job.previousRuns(n, new Date(at.getTime() + 1)).reverse(),
  };
}
