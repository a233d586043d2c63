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
