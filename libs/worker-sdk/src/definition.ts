import type { WorkloadRef } from '@niyanta/messages';
import type {
  ChildWorkload,
  GatherOptions,
  SpawnItem,
  SpawnOptions,
  SpawnableDefinition,
} from './children.js';
import type { ReplayedWait, WaitRequest } from './durable-waits.js';

/** A JSON Schema (draft 2020-12) document, as a plain object. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** Structured log lines of a run; each call becomes one line on the host's log stream. */
export interface WorkloadLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** Writes a raw line of a child process's output. */
  write(stream: 'stdout' | 'stderr', line: string): void;
  /**
   * False while the host holds more unsent output than it allows: a writer of much output (a
   * child process) stops reading until {@link WorkloadLogger.waitForRoom} resolves.
   */
  hasRoom(): boolean;
  /** Resolves once the host's unsent output is below its bound (at once when it is). */
  waitForRoom(): Promise<void>;
}

/** What a handler receives for one attempt of one workload. */
export interface WorkloadContext<S = unknown> {
  readonly workloadId: string;
  /** 1-based attempt number (the fencing token). */
  readonly attempt: number;
  /** Restored checkpoint state, or undefined on a fresh start. */
  readonly state: S | undefined;
  /** Aborts on cancel, pause, timeout and drain; `signal.reason` is a `StopReason`. */
  readonly signal: AbortSignal;
  /** Reports progress; `fraction` is clamped to [0, 1], NaN throws. */
  progress(fraction: number, message?: string): void;
  /** Records a checkpoint; resolves once the host has made it durable. */
  checkpoint(state: S): Promise<void>;
  /**
   * Checkpoints `snapshot()` automatically for this run: every `intervalMs` (default: the
   * definition's `checkpointIntervalMs`; none without either) and once more when the run is
   * stopped for pause or drain. Replaces any snapshot registered before (including the
   * definition's `snapshot`). The state stays the run's own: nothing is shared between runs.
   */
  autoCheckpoint(snapshot: () => S, options?: { intervalMs?: number }): void;
  readonly log: WorkloadLogger;
  /**
   * The secrets the submission named (`secrets: [...]`), by name, decrypted in memory for this
   * run. Never log them: the host redacts their values from the run's log lines.
   */
  readonly secrets: Readonly<Record<string, string>>;
  /**
   * The results of the workload's dependencies (`dependsOn`) by id and, for those named by a
   * `ref` in the same batch, by ref; empty without dependencies. A dependency that ended FAILED
   * or CANCELLED (`onDependencyFailure: "run"`) has `null`.
   */
  readonly dependencies: Readonly<Record<string, unknown>>;
  /**
   * Runs `fn` as a span of this run's trace (a child of the run's span, or of the span around
   * it), ended when `fn` settles and marked failed when it throws. Without tracing
   * (OTEL_EXPORTER_OTLP_ENDPOINT unset on the worker) it just runs `fn`.
   */
  span<T>(name: string, fn: () => Promise<T> | T, attributes?: SpanAttributes): Promise<T>;
  /**
   * Submits a child workload (its `parentId` is this workload; same tenant) and resolves once the
   * broker holds it. Children are keyed by call order: a resumed run that spawns again in the
   * same order gets the same children back (same ids) and spawns nothing twice, so call `spawn`
   * again on resume rather than skipping it. Given a definition, `input` and the child's result
   * are typed by it. A child is cancelled with this workload unless `detached`.
   */
  spawn<R = unknown>(
    type: string,
    input: unknown,
    options?: SpawnOptions,
  ): Promise<ChildWorkload<R>>;
  spawn<I, R>(
    definition: SpawnableDefinition<I, R>,
    input: NoInfer<I>,
    options?: SpawnOptions,
  ): Promise<ChildWorkload<Awaited<R>>>;
  /** Spawns many children in one message (fan-out); handles in the order given. */
  spawnMany(items: readonly SpawnItem[]): Promise<ChildWorkload[]>;
  /**
   * The results of `children`, in order, once all have ended; rejects with the first
   * `ChildWorkloadError` in order if one failed or was cancelled. Same as
   * `Promise.all(children.map((c) => c.result(options)))`: either waits for them without holding
   * a slot. With `timeoutMs`, rejects with `WaitTimeoutError` if they have not all ended that long
   * after the wait was recorded (the children run on).
   */
  gather<R>(children: readonly WorkloadRef<R>[], options?: GatherOptions): Promise<R[]>;
  /**
   * A durable sleep: the run checkpoints (the registered `autoCheckpoint`/`snapshot` state), gives
   * its slot back and the workload is WAITING; after `ms` it resumes on any worker, from its
   * checkpoint, and this call (the same call, by call order) returns. `ms <= 0` returns at once.
   */
  sleep(ms: number): Promise<void>;
  /** A durable sleep until `time` (a Date, RFC 3339 text or epoch ms); a past time returns at once. */
  sleepUntil(time: Date | string | number): Promise<void>;
  /**
   * Waits durably for the signal `name` (`POST /v1/workloads/{id}/signals/{name}`) and returns its
   * payload; a signal sent earlier is kept and answers at once. With `timeoutMs`, throws
   * `WaitTimeoutError` when none came in time.
   */
  waitForSignal<T = unknown>(name: string, options?: { timeoutMs?: number }): Promise<T>;
  /**
   * The durable wait that `sleep`, `sleepUntil` and `waitForSignal` are built on, for SDK helpers
   * of other kinds (children). Waits are keyed by call order: a resumed run that calls its waits
   * again in the same order gets the recorded answers at once.
   */
  wait(request: WaitRequest): Promise<ReplayedWait>;
}

/** Attributes of a handler's span: low-cardinality names, values a handler chooses. */
export type SpanAttributes = Readonly<Record<string, string | number | boolean>>;

/** A workload type: its name, input schema and handler. */
export interface WorkloadDefinition<I = unknown, S = unknown, R = unknown> {
  /** Type name, `^[a-z][a-z0-9._-]{0,99}$`. */
  type: string;
  /** JSON Schema (draft 2020-12) of the input. */
  input: JsonSchema;
  /** Runs one attempt; the result must be JSON-serialisable. */
  run(ctx: WorkloadContext<S>, input: I): Promise<R> | R;
  /**
   * State of the run `ctx` for automatic checkpoints (taken every `checkpointIntervalMs` and when
   * the run stops for pause or drain). A definition serves every run of its type at once, so key
   * the state by the context (or, simpler, call `ctx.autoCheckpoint(snapshot)` in `run`).
   */
  snapshot?(ctx: WorkloadContext<S>): S;
  /** Interval of automatic checkpoints, for `snapshot` and `ctx.autoCheckpoint`. */
  checkpointIntervalMs?: number;
}

/** Pattern every workload type name matches. */
export const WORKLOAD_TYPE_PATTERN = /^[a-z][a-z0-9._-]{0,99}$/;
