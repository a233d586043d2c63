import { WorkloadError } from '@niyanta/worker-sdk';

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

/**
 * A checkpoint too large for a NATS message. It is a `WorkloadError` (not a `WorkerError`) so the
 * SDK records its code when the handler lets it propagate; blob offload is a later issue.
 */
export class CheckpointTooLargeError extends WorkloadError {
  override name = 'CheckpointTooLargeError';
  constructor(
    readonly workloadId: string,
    readonly attempt: number,
    readonly bytes: number,
    readonly limitBytes: number,
  ) {
    super(
      `checkpoint of workload ${workloadId} attempt ${attempt} is ${bytes} bytes, over the ${limitBytes}-byte limit of an inline checkpoint. Checkpoint less state (large state needs the blob store, not yet supported).`,
      { code: 'CHECKPOINT_TOO_LARGE', retryable: false, details: { bytes, limitBytes } },
    );
  }
}
