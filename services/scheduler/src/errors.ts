/** Base error of the scheduler. */
export class SchedulerError extends Error {
  override name = 'SchedulerError';
}

/** A publish to the broker failed; the surrounding transaction is rolled back and retried. */
export class PublishError extends SchedulerError {
  override name = 'PublishError';
  constructor(
    readonly what: string,
    options?: { cause?: unknown },
  ) {
    super(`publishing ${what} failed; the batch is rolled back and retried`, options);
  }
}
