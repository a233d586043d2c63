export { Niyanta } from './client.js';
export type { NiyantaOptions, Submission } from './client.js';
export { WorkloadHandle } from './handle.js';
export type { ResultOptions } from './handle.js';
export {
  NiyantaError,
  NiyantaApiError,
  NiyantaConnectionError,
  NiyantaConfigError,
  WorkloadFailedError,
  WorkloadCancelledError,
  WorkloadTimeoutError,
} from './errors.js';
export type { ApiFieldError } from './errors.js';
export type { RetryOptions } from './retry.js';
export type { ReconnectOptions } from './event-stream.js';
export { TENANT_HEADER } from './transport.js';
export type { WorkloadRef } from '@niyanta/messages';
export { FINAL_STATUSES, isFinalStatus } from './types.js';
export type {
  ApiKeyCreatedV1,
  ApiKeyV1,
  AuditVerifyV1,
  CheckpointInfo,
  ListQuery,
  LogEvent,
  LogLine,
  PlacementExplanation,
  PlacementWorker,
  ProgressEvent,
  StatusEvent,
  SubmitOptions,
  TenantCreateV1,
  TenantV1,
  WorkerV1,
  WorkloadDefinitionLike,
  WorkloadEvent,
  WorkloadPage,
  WorkloadStatus,
  WorkloadSubmissionV1,
  WorkloadV1,
} from './types.js';
