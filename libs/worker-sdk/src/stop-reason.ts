/** Why an attempt's signal aborted. */
export const STOP_REASONS = {
  cancel: 'cancel',
  pause: 'pause',
  timeout: 'timeout',
  drain: 'drain',
  /** A higher-priority workload takes the run's place: checkpoint and hand it back. */
  preempt: 'preempt',
} as const;

/** Why an attempt's signal aborted: cancel, pause, timeout, drain or preempt. */
export type StopReason = (typeof STOP_REASONS)[keyof typeof STOP_REASONS];

/** True when `value` is one of {@link STOP_REASONS}. */
export function isStopReason(value: unknown): value is StopReason {
  return typeof value === 'string' && Object.hasOwn(STOP_REASONS, value);
}
