/** Base error of the worker service. */
export class WorkerError extends Error {
  override name = 'WorkerError';
}

/** Two workload modules (or a module and a built-in) define the same type. */
export class DuplicateWorkloadTypeError extends WorkerError {
  override name = 'DuplicateWorkloadTypeError';
  constructor(readonly type: string) {
    super(
      `Workload type "${type}" is defined by a built-in and by a module in WORKLOAD_MODULES. Rename the module's type or remove the module.`,
    );
  }
}

/** A bare name in WORKER_EXEC_ALLOW is not an executable on the worker's PATH. */
export class ExecAllowError extends WorkerError {
  override name = 'ExecAllowError';
  constructor(readonly missing: readonly string[]) {
    super(
      `WORKER_EXEC_ALLOW names ${missing.map((m) => `"${m}"`).join(', ')}, not found as an executable on the worker's PATH. Install it, or list it by its absolute path.`,
    );
  }
}
