export { CRON_NICKNAMES, DEFAULT_TIMEZONE, compileCron } from './cron.js';
export type { CompiledCron, CronSpec } from './cron.js';
export { MISSED_AFTER_MS, dueFireTimes } from './due.js';
export type { DueInput } from './due.js';
export { ScheduleFieldError } from './errors.js';
export { SCHEDULE_KEY_PREFIX, firingKey, scheduleIdOfKey } from './firing-key.js';
