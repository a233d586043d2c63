export { CHILD_GONE, ChildWorkloadError } from './children.js';
export type {
  ChildWorkload,
  ChildrenHost,
  ChildrenWaitEnd,
  GatherOptions,
  KnownChild,
  SpawnItem,
  SpawnOptions,
  SpawnableDefinition,
  SpawnedChild,
} from './children.js';
export { defineWorkload, isWorkloadDefinition } from './define-workload.js';
export { WORKLOAD_TYPE_PATTERN } from './definition.js';
export type {
  JsonSchema,
  SpanAttributes,
  WorkloadContext,
  WorkloadDefinition,
  WorkloadLogger,
} from './definition.js';
export {
  WorkerSdkError,
  WorkloadContextError,
  WorkloadDefinitionError,
  WorkloadError,
  WorkloadModuleError,
} from './errors.js';
export type { WorkloadErrorOptions } from './errors.js';
export type { InputIssue } from './input-validator.js';
export {
  DurableWaits,
  MAX_WAIT_MS,
  SIGNAL_NAME_PATTERN,
  WaitMismatchError,
  WaitTimeoutError,
} from './durable-waits.js';
export type { ReplayedWait, StartedWait, WaitKind, WaitRequest } from './durable-waits.js';
export { loadWorkloadModules } from './load-workload-modules.js';
export { runAttempt, STOP_CHECKPOINT_TIMEOUT_MS } from './run-attempt.js';
export type { AttemptFailure, AttemptHost, AttemptOptions, AttemptOutcome } from './run-attempt.js';
export { isStopReason, STOP_REASONS } from './stop-reason.js';
export type { StopReason } from './stop-reason.js';
export { dependencyResults } from './dependencies.js';
export type { AssignedDependencies } from './dependencies.js';
