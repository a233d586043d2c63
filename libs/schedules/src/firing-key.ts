/** Idempotency keys of firings start with this; the API refuses it in a user's key. */
export const SCHEDULE_KEY_PREFIX = 'schedule:';

/**
 * The idempotency key of a schedule's firing: one workload per schedule and fire time, however
 * often (restarts, several schedulers) the firing is submitted.
 */
export function firingKey(scheduleId: string, fireTime: Date): string {
  return `${SCHEDULE_KEY_PREFIX}${scheduleId}:${fireTime.toISOString()}`;
}

/** The schedule of a firing's idempotency key, or undefined for any other key. */
export function scheduleIdOfKey(key: string | null | undefined): string | undefined {
  if (key === null || key === undefined || !key.startsWith(SCHEDULE_KEY_PREFIX)) return undefined;
  const rest = key.slice(SCHEDULE_KEY_PREFIX.length);
  const colon = rest.indexOf(':');
  return colon === 36 ? rest.slice(0, colon) : undefined;
}
