import { withSpan } from '@niyanta/telemetry';
import { Children, indexRanges } from './children.js';
import type { KnownChild, SpawnItem, SpawnedChild } from './children.js';
import type { WorkloadContext, WorkloadDefinition, WorkloadLogger } from './definition.js';
import { DurableWaits } from './durable-waits.js';
import type { ReplayedWait, StartedWait } from './durable-waits.js';
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
  /** False while the host's unsent log output is over its bound (default: always room). */
  hasLogRoom?(): boolean;
  /** Resolves once there is room again. */
  waitForLogRoom?(): Promise<void>;
  /** Publishes children of `ctx.spawn`; resolves once the broker holds them (none: spawn throws). */
  spawn?(children: SpawnedChild[]): Promise<void>;
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
  /** The run's decrypted secrets by name (`ctx.secrets`); none when omitted. */
  secrets?: Readonly<Record<string, string>>;
  /** Durable waits of earlier attempts that have ended: the run's wait calls replay them. */
  waits?: readonly ReplayedWait[];
  /** `ctx.dependencies` (see `dependencyResults`); none when omitted. */
  dependencies?: Readonly<Record<string, unknown>>;
  /** How long the last automatic checkpoint on pause or drain may take; default {@link STOP_CHECKPOINT_TIMEOUT_MS}. */
  stopCheckpointTimeoutMs?: number;
  /** The children earlier attempts spawned (the assignment's `children`), in call order. */
  children?: readonly KnownChild[];
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
  | { outcome: 'paused' }
  /** The run started a durable wait: it checkpointed and ends here, to resume once the wait ends. */
  | { outcome: 'waiting'; wait: StartedWait };

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

    const auto = new AutoCheckpoints(def.checkpointIntervalMs, opts.host, () => finished);
    const waits = new DurableWaits(opts.waits);
    const ctx = createContext(opts, controller.signal, () => finished, auto, waits);
    auto.attach(ctx);
    if (typeof def.snapshot === 'function') {
      const snapshot = def.snapshot.bind(def);
      auto.register(() => snapshot(ctx));
    }
    let result: unknown;
    let thrown: { error: unknown } | undefined;
    let waiting: StartedWait | undefined;
    try {
      // A durable wait ends the attempt where it is: its promise never settles in this run.
      const ended = await Promise.race([
        Promise.resolve()
          .then(() => def.run(ctx, opts.input))
          .then((value) => ({ value })),
        waits.started.then((wait) => ({ wait })),
      ]);
      if ('wait' in ended) waiting = ended.wait;
      else result = ended.value;
    } catch (error) {
      thrown = { error };
    } finally {
      auto.stop();
    }
    // The abort decides the outcome even when the handler ignored the signal and returned.
    if (controller.signal.aborted) {
      const reason = controller.signal.reason as StopReason;
      if (
        reason === STOP_REASONS.pause ||
        reason === STOP_REASONS.drain ||
        reason === STOP_REASONS.preempt
      ) {
        // The run is handed back to continue elsewhere: save where it got to, within a bound.
        await auto.stopCheckpoint(opts.stopCheckpointTimeoutMs);
      }
      return stopped(reason, timeoutMs);
    }
    if (waiting !== undefined) {
      // Saved before the wait is reported, so the resumed run starts from this state.
      await auto.stopCheckpoint(opts.stopCheckpointTimeoutMs);
      return { outcome: 'waiting', wait: waiting };
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
  auto: AutoCheckpoints,
  waits: DurableWaits,
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
    hasRoom: () => host.hasLogRoom?.() ?? true,
    waitForRoom: () => host.waitForLogRoom?.() ?? Promise.resolve(),
  };
  const children = new Children(
    opts.workloadId,
    opts.children,
    host.spawn === undefined
      ? undefined
      : {
          spawn: (c) => host.spawn!(c),
          wait: async (indices, timeoutMs) => {
            const done = await waits.wait({
              kind: 'children',
              spec: { ranges: indexRanges(indices) },
              ...(timeoutMs === undefined ? {} : { timeoutMs }),
            });
            return { seq: done.seq, timedOut: done.timedOut === true };
          },
          skipReplayed: () => void waits.skipReplayed('children'),
        },
    (what) => {
      if (isFinished())
        throw new WorkloadContextError(
          `${what}() called after attempt ${opts.attempt} of workload ${opts.workloadId} ended; call it before run() returns.`,
        );
    },
  );
  return {
    workloadId: opts.workloadId,
    attempt: opts.attempt,
    state: opts.state,
    spawn: async (
      type: string | { type: string },
      input: unknown,
      options?: SpawnItem['options'],
    ) => {
      const name = typeof type === 'object' && type !== null ? type.type : type;
      const [child] = await children.spawn([{ type: name, input, options }]);
      return child!;
    },
    spawnMany: (items) => children.spawn(items),
    gather: (list, options) => children.gather(list, options),
    signal,
    log,
    secrets: Object.freeze({ ...opts.secrets }),
    sleep: (ms) => waits.sleep(ms),
    sleepUntil: (time) => waits.sleepUntil(time),
    waitForSignal: <T>(name: string, options?: { timeoutMs?: number }) =>
      waits.waitForSignal(name, options) as Promise<T>,
    wait: (request) => waits.wait(request),
    dependencies: opts.dependencies ?? Object.freeze({}),
    span: (name, fn, attributes) =>
      withSpan(name, attributes === undefined ? {} : { attributes }, () => fn()),
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
    autoCheckpoint(snapshot, options) {
      if (typeof snapshot !== 'function') {
        throw new WorkloadContextError(
          `autoCheckpoint(snapshot) needs a function returning the state; got ${typeof snapshot}.`,
        );
      }
      const intervalMs = options?.intervalMs;
      if (
        intervalMs !== undefined &&
        !(typeof intervalMs === 'number' && Number.isInteger(intervalMs) && intervalMs > 0)
      ) {
        throw new WorkloadContextError(
          `autoCheckpoint intervalMs must be a positive integer number of milliseconds; got ${String(intervalMs)}.`,
        );
      }
      if (isFinished()) {
        throw new WorkloadContextError(
          `autoCheckpoint() called after attempt ${opts.attempt} of workload ${opts.workloadId} ended; register it in run().`,
        );
      }
      auto.register(snapshot, intervalMs);
    },
  };
}

/**
 * The automatic checkpoints of one run: the snapshot registered last (the definition's, bound to
 * this run's context, or the handler's own through `ctx.autoCheckpoint`) is checkpointed every
 * interval while the handler runs and once more when the run stops for pause or drain. A tick is
 * skipped while the previous checkpoint is still in flight; a failure is logged, not thrown (the
 * handler's own work goes on, and the next tick tries again).
 */
class AutoCheckpoints {
  #snapshot: (() => unknown) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = false;
  #ended = false;
  #ctx: WorkloadContext | undefined;

  constructor(
    private readonly defaultIntervalMs: number | undefined,
    private readonly host: AttemptHost,
    private readonly isFinished: () => boolean,
  ) {}

  attach(ctx: WorkloadContext): void {
    this.#ctx = ctx;
  }

  register(snapshot: () => unknown, intervalMs = this.defaultIntervalMs): void {
    this.#snapshot = snapshot;
    clearInterval(this.#timer);
    this.#timer = undefined;
    // Registered from a stray callback after the handler returned: no timer to leak.
    if (intervalMs === undefined || this.#ended) return;
    this.#timer = setInterval(() => {
      if (this.#inFlight || this.isFinished() || this.#ctx?.signal.aborted) return;
      this.#inFlight = true;
      void this.#take('automatic').finally(() => {
        this.#inFlight = false;
      });
    }, intervalMs);
  }

  /** Ends the interval (the handler returned); the stop checkpoint may still follow. */
  stop(): void {
    this.#ended = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The last checkpoint of a run stopped for pause or drain, bounded by a timeout. */
  async stopCheckpoint(timeoutMs = STOP_CHECKPOINT_TIMEOUT_MS): Promise<void> {
    if (this.#snapshot === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      const result = await Promise.race([this.#take('stop'), timedOut]);
      if (result === 'timeout')
        this.host.log(
          'warn',
          `stop checkpoint did not finish within ${timeoutMs} ms; stopping without it`,
        );
    } finally {
      clearTimeout(timer);
    }
  }

  async #take(what: string): Promise<boolean> {
    const snapshot = this.#snapshot;
    const ctx = this.#ctx;
    if (snapshot === undefined || ctx === undefined) return false;
    try {
      await ctx.checkpoint(snapshot());
      return true;
    } catch (err) {
      this.host.log('warn', `${what} checkpoint failed: ${(err as Error).message ?? String(err)}`);
      return false;
    }
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
    case STOP_REASONS.preempt:
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
