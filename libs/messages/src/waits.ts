/**
 * What a durable wait waits for. A kind is recorded on `workload_waits.kind`; the scheduler's
 * `workload-core/decisions/wait.ts` says how each starts and ends.
 */
export const WAIT_KINDS = {
  /** A time: `ctx.sleep(ms)`, `ctx.sleepUntil(time)`. */
  sleep: 'sleep',
  /** A named signal: `ctx.waitForSignal(name, { timeoutMs })`. */
  signal: 'signal',
  /** The workload's spawned children, until all have ended. */
  children: 'children',
} as const;
export type WaitKindName = (typeof WAIT_KINDS)[keyof typeof WAIT_KINDS];

/** The largest signal payload, serialised as JSON (the API answers 413 above it). */
export const MAX_SIGNAL_PAYLOAD_BYTES = 64 * 1024;

/** Pattern of a signal's name (schemas/common.v1.json `signalName`). */
export const SIGNAL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
