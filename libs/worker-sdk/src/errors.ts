/** Base class of every error the worker SDK throws. */
export class WorkerSdkError extends Error {
  override name = 'WorkerSdkError';
}

/** Options of a {@link WorkloadError}. */
export interface WorkloadErrorOptions {
  /** Stable, machine-readable code (UPPER_SNAKE), e.g. `EXIT_CODE_3`. Default `WORKLOAD_ERROR`. */
  code?: string;
  /** Whether the scheduler may retry the workload. Default `true`. */
  retryable?: boolean;
  /** JSON-serialisable details recorded with the failure. */
  details?: unknown;
  cause?: unknown;
}

/** Thrown by a handler to fail an attempt with a code and say whether it may be retried. */
export class WorkloadError extends WorkerSdkError {
  override name = 'WorkloadError';
  readonly code: string;
  readonly retryable: boolean;
  readonly details: unknown;

  constructor(message: string, options: WorkloadErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? 'WORKLOAD_ERROR';
    this.retryable = options.retryable ?? true;
    this.details = options.details;
  }
}

/** A workload definition (or a module's default export) is not valid. */
export class WorkloadDefinitionError extends WorkerSdkError {
  override name = 'WorkloadDefinitionError';
  /** The workload type, when the definition has a string one. */
  readonly type: string | undefined;

  constructor(message: string, options: { type?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.type = options.type;
  }
}

/** A workload module directory or file could not be loaded. */
export class WorkloadModuleError extends WorkerSdkError {
  override name = 'WorkloadModuleError';
  /** The directory or file that failed. */
  readonly path: string;

  constructor(message: string, options: { path: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = options.path;
  }
}

/** A handler misused its context (e.g. `progress(NaN)`, checkpoint after the attempt ended). */
export class WorkloadContextError extends WorkerSdkError {
  override name = 'WorkloadContextError';
}
