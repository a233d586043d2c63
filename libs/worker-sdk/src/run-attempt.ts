import type { WorkloadContext, WorkloadDefinition, WorkloadLogger } from './definition.js';
import { WorkloadContextError, WorkloadError } from './errors.js';
import { formatIssues, validateInput } from './input-validator.js';
import { isStopReason, STOP_REASONS } from './stop-reason.js';
import type { StopReason } from './stop-reason.js';

/** Where one attempt's progress, logs and checkpoints go (the worker service implements it). */
export interface AttemptHost {
  progress(fraction: number, message?: string): void;
  log(stream: 'stdout' | 'stderr' | 'info' | 'warn' | 'error', line: string): void;
  /** Resolves once the checkpoint is durable. */
  checkpoint(state: unknown): Promise<void>;
}

/** One attempt of one workload. */
export interface AttemptOptions {
  workloadId: string;
  attempt: number;
  input: unknown;
  /** Restored checkpoint state. */
  state?: unknown;
  /** Per-attempt deadline; on expiry the handler's signal aborts with `'timeout'`. */
  timeoutMs?: number;
  /** External stop: `abort(reason)` with a `StopReason` (any other reason counts as `'cancel'`). */
  signal?: AbortSignal;
  host: AttemptHost;
  /** How long the last automatic checkpoint on pause or drain may take; default {@link STOP_CHECKPOINT_TIMEOUT_MS}. */
  stopCheckpointTimeoutMs?: number;
}

/** Default bound on the automatic checkpoint taken when a run stops for pause or drain. */
export const STOP_CHECKPOINT_TIMEOUT_MS = 5_000;

/** Failure details of an attempt, as recorded on `niyanta.complete.<workloadId>`. */
export interface AttemptFailure {
  message: string;
  code: string;
  retryable: boolean;
  details?: unknown;
}

/** How an attempt ended. */
export type AttemptOutcome =
  | { outcome: 'succeeded'; result: unknown }
  | { outcome: 'failed'; error: AttemptFailure }
  | { outcome: 'cancelled' }
  | { outcome: 'paused' };

/** Runs one attempt of `def`: validates the input, runs the handler, maps how it ended. Never throws for handler errors. */
export async function runAttempt(
  def: WorkloadDefinition,
  opts: AttemptOptions,
): Promise<AttemptOutcome> {
  const issues = validateInput(def, opts.input);
  if (issues.length > 0) {
    return failed({
      message: `Input of workload type "${def.type}" is invalid: ${formatIssues(issues)}. Submit an input that matches the type's schema.`,
      code: 'INVALID_INPUT',
      retryable: false,
      details: issues,
    });
  }

  const controller = new AbortController();
  const timeoutMs = opts.timeoutMs;
  const external = opts.signal;
  const onExternalAbort = (): void => controller.abort(toStopReason(external?.reason));
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  try {
    if (external?.aborted) return stopped(toStopReason(external.reason), timeoutMs);
    external?.addEventListener('abort', onExternalAbort, { once: true });
    if (timeoutMs !== undefined)
      timer = setTimeout(() => controller.abort(STOP_REASONS.timeout), timeoutMs);

    const ctx = createContext(opts, controller.signal, () => finished);
    const auto = startAutoCheckpoints(def, ctx, opts.host);
    let result: unknown;
    let thrown: { error: unknown } | undefined;
    try {
      result = await def.run(ctx, opts.input);
    } catch (error) {
      thrown = { error };
    } finally {
      auto.stop();
    }
    // The abort decides the outcome even when the handler ignored the signal and returned.
    if (controller.signal.aborted) {
      const reason = controller.signal.reason as StopReason;
      if (reason === STOP_REASONS.pause || reason === STOP_REASONS.drain) {
        // The run is handed back to continue elsewhere: save where it got to, within a bound.
        await stopCheckpoint(def, ctx, opts.host, opts.stopCheckpointTimeoutMs);
      }
      return stopped(reason, timeoutMs);
    }
    if (thrown) return failed(toFailure(thrown.error));
    return toSucceeded(def.type, result);
  } finally {
    finished = true;
    clearTimeout(timer);
    external?.removeEventListener('abort', onExternalAbort);
  }
}

function createContext(
  opts: AttemptOptions,
  signal: AbortSignal,
  isFinished: () => boolean,
): WorkloadContext {
  const { host } = opts;
  const line = (message: string, fields?: Record<string, unknown>): string =>
    fields === undefined ? message : `${message} ${safeStringify(fields)}`;
  // Calls after the attempt ended (a stray timer in the handler) are dropped: the slot may
  // already run another attempt, and a late checkpoint must not overwrite newer state.
  const emit = (stream: Parameters<AttemptHost['log']>[0], text: string): void => {
    if (!isFinished()) host.log(stream, text);
  };
  const log: WorkloadLogger = {
    info: (message, fields) => emit('info', line(message, fields)),
    warn: (message, fields) => emit('warn', line(message, fields)),
    error: (message, fields) => emit('error', line(message, fields)),
    write: (stream, text) => emit(stream, text),
  };
  return {
    workloadId: opts.workloadId,
    attempt: opts.attempt,
    state: opts.state,
    signal,
    log,
    progress(fraction, message) {
      if (typeof fraction !== 'number' || Number.isNaN(fraction)) {
        throw new WorkloadContextError(
          `progress(fraction) needs a number between 0 and 1; got ${String(fraction)}.`,
        );
      }
      if (isFinished()) return;
      host.progress(Math.min(1, Math.max(0, fraction)), message);
    },
    async checkpoint(state) {
      if (isFinished()) {
        throw new WorkloadContextError(
          `checkpoint() called after attempt ${opts.attempt} of workload ${opts.workloadId} ended; checkpoint before run() returns.`,
        );
      }
      let copy: unknown;
      try {
        // A copy, so the handler may keep mutating its state while the host persists this one.
        copy = JSON.parse(JSON.stringify(state ?? null)) as unknown;
      } catch (err) {
        throw new WorkloadContextError(
          `checkpoint(state) needs JSON-serialisable state: ${(err as Error).message}.`,
          {
            cause: err,
          },
        );
      }
      await host.checkpoint(copy);
    },
  };
}

/** Whether the definition asks for automatic checkpoints (a snapshot and an interval). */
function autoCheckpointed(def: WorkloadDefinition): def is WorkloadDefinition & {
  snapshot(): unknown;
} {
  return typeof def.snapshot === 'function';
}

/**
 * Checkpoints `def.snapshot()` every `def.checkpointIntervalMs` while the handler runs. A tick
 * is skipped while the previous checkpoint is still in flight; a failure is logged, not thrown
 * (the handler's own work goes on, and the next tick tries again).
 */
function startAutoCheckpoints(
  def: WorkloadDefinition,
  ctx: WorkloadContext,
  host: AttemptHost,
): { stop(): void } {
  const intervalMs = def.checkpointIntervalMs;
  if (!autoCheckpointed(def) || intervalMs === undefined) return { stop() {} };
  let inFlight = false;
  let stopped = false;
  const timer = setInterval(() => {
    if (inFlight || stopped || ctx.signal.aborted) return;
    inFlight = true;
    void takeCheckpoint(def, ctx, host, 'automatic').finally(() => {
      inFlight = false;
    });
  }, intervalMs);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

async function takeCheckpoint(
  def: WorkloadDefinition & { snapshot(): unknown },
  ctx: WorkloadContext,
  host: AttemptHost,
  what: string,
): Promise<boolean> {
  try {
    await ctx.checkpoint(def.snapshot());
    return true;
  } catch (err) {
    host.log('warn', `${what} checkpoint failed: ${(err as Error).message ?? String(err)}`);
    return false;
  }
}

/** The last automatic checkpoint of a run stopped for pause or drain, bounded by a timeout. */
async function stopCheckpoint(
  def: WorkloadDefinition,
  ctx: WorkloadContext,
  host: AttemptHost,
  timeoutMs = STOP_CHECKPOINT_TIMEOUT_MS,
): Promise<void> {
  if (!autoCheckpointed(def)) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const result = await Promise.race([takeCheckpoint(def, ctx, host, 'stop'), timedOut]);
    if (result === 'timeout')
      host.log(
        'warn',
        `stop checkpoint did not finish within ${timeoutMs} ms; stopping without it`,
      );
  } finally {
    clearTimeout(timer);
  }
}

function toStopReason(reason: unknown): StopReason {
  // A plain `abort()` (DOMException reason) is treated as a cancel: the safest terminal stop.
  return isStopReason(reason) ? reason : STOP_REASONS.cancel;
}

function stopped(reason: StopReason, timeoutMs: number | undefined): AttemptOutcome {
  switch (reason) {
    case STOP_REASONS.cancel:
      return { outcome: 'cancelled' };
    case STOP_REASONS.pause:
    case STOP_REASONS.drain:
      return { outcome: 'paused' };
    case STOP_REASONS.timeout:
      return failed({
        message: `timed out after ${timeoutMs ?? 0} ms`,
        code: 'TIMEOUT',
        retryable: true,
      });
  }
}

function toFailure(error: unknown): AttemptFailure {
  if (error instanceof WorkloadError) {
    return {
      message: error.message,
      code: error.code,
      retryable: error.retryable,
      ...(error.details === undefined ? {} : { details: error.details }),
    };
  }
  const message =
    error instanceof Error
      ? error.message
      : `handler threw a non-error value: ${safeStringify(error)}`;
  return {
    message: message || 'handler failed without a message',
    code: 'HANDLER_ERROR',
    retryable: true,
  };
}

function toSucceeded(type: string, result: unknown): AttemptOutcome {
  // `undefined` (a handler with no return value) is recorded as null.
  if (result === undefined) return { outcome: 'succeeded', result: null };
  let json: string | undefined;
  let reason = 'it is not a JSON value';
  try {
    json = JSON.stringify(result);
  } catch (err) {
    reason = (err as Error).message;
  }
  if (json === undefined) {
    return failed({
      message: `Workload type "${type}" returned a result that is not JSON-serialisable (${reason}). Return plain objects, arrays, strings, numbers, booleans or null.`,
      code: 'INVALID_RESULT',
      retryable: false,
    });
  }
  // The round-tripped value is what the completion message will carry.
  return { outcome: 'succeeded', result: JSON.parse(json) as unknown };
}

function failed(error: AttemptFailure): AttemptOutcome {
  return { outcome: 'failed', error };
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
