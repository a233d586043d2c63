/** A schedule field that cannot be used, named by its JSON Pointer (e.g. `/cron`). */
export class ScheduleFieldError extends Error {
  override name = 'ScheduleFieldError';
  constructor(
    readonly path: '/cron' | '/timezone',
    message: string,
  ) {
    super(message);
  }
}
