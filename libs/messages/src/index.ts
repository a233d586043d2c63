export {
  SUBJECTS,
  INGEST_NOTIFY_HEADER,
  assertSubjectToken,
  ingestNotifySubject,
  isSubjectToken,
  lastToken,
  spawnMsgId,
  submissionMsgId,
} from './subjects.js';
export {
  STREAMS,
  CONSUMERS,
  DEFAULT_STREAM_LIMITS,
  WORK_QUEUE_STREAMS,
  workerConsumers,
  ensureStreams,
  ensureConsumer,
  streamConfig,
} from './streams.js';
export type { StreamKey, ConsumerKey, StreamLimits } from './streams.js';
export { isStreamFullError } from './stream-full.js';
export {
  MESSAGE_SCHEMAS,
  HTTP_SCHEMAS,
  validateMessage,
  validateHttp,
  validateSchema,
  toFieldErrors,
  MAX_HTTP_FIELD_ERRORS,
} from './validation.js';
export type { MessageKind, MessageTypes, HttpSchemaKind, HttpTypes } from './validation.js';
export {
  encode,
  decode,
  envelope,
  enveloped,
  MESSAGE_DEPTH_ALLOWANCE,
  MAX_CLOCK_AHEAD_MS,
} from './codec.js';
export {
  MAX_JSON_DEPTH,
  escapeUnstorable,
  mayHoldUnstorableText,
  sanitizeJson,
  sanitizeText,
  storableErrors,
  unstorableText,
} from './storable.js';
export type { StorableOptions } from './storable.js';
export type { Envelope } from './codec.js';
export type { Decoded } from './codec.js';
export { publishAll, publishCore, publishOne } from './publish.js';
export type { Outgoing } from './publish.js';
export { buildEach, publishEach } from './publish-each.js';
export type { BuiltEach, Published } from './publish-each.js';
export { childTraceparent, traceHeaders, traceparentOf, TRACEPARENT_HEADER } from './trace.js';
export {
  MAX_CHANGES_PER_MESSAGE,
  StatusEventBatch,
  applyChange,
  changesOf,
} from './status-events.js';
export type { ProgressChangeInput, StatusChange, StatusChangeInput } from './status-events.js';
export { uuidv7, isUuid } from './ids.js';
export { childWorkloadId, MAX_CHILD_INDEX } from './child-ids.js';
export type { WorkloadRef } from './workload-ref.js';
export { isWorkloadType } from './workload-type.js';
export {
  MessagesError,
  InvalidMessageError,
  InvalidSubjectTokenError,
  MessageTooLargeError,
  StreamSetupError,
} from './errors.js';
export type { FieldError } from './errors.js';
export { SCHEMAS } from './generated/schemas.js';
export type { SchemaFile } from './generated/schemas.js';
export type {
  Requirements,
  Labels,
  WorkloadError,
  Progress,
  WorkloadSubmissionV1,
  WorkloadBatchV1,
  WorkloadV1,
  WorkloadListV1,
  WorkloadBatchResponseV1,
  WorkerV1,
  WorkerListV1,
  ClusterV1,
  ProblemV1,
  WorkloadCommandV1,
  WorkloadSignalV1,
  WaitSpec,
  WaitOutcome,
  WaitKind,
  LogListV1,
  MeV1,
  WorkloadCountsV1,
  WorkloadHistoryV1,
  ScheduleCreateV1,
  SchedulePatchV1,
  ScheduleV1,
  ScheduleListV1,
  WorkloadBulkCommandV1,
  WorkloadBulkResultV1,
  CheckpointListV1,
  TenantId,
  TenantQuotas,
  RateLimit,
  Role,
  TenantCreateV1,
  TenantPatchV1,
  TenantV1,
  TenantListV1,
  ApiKeyCreateV1,
  ApiKeyCreatedV1,
  ApiKeyV1,
  ApiKeyListV1,
  SecretListV1,
  SecretPutV1,
  AuditEntryV1,
  AuditListV1,
  AuditVerifyV1,
  DeadLetterRecordV1,
  DeadLetterListV1,
  RejectedSubmissionV1,
  RejectedListV1,
  ReplayV1,
  SubmissionV1,
  AssignmentV1,
  HeartbeatV1,
  RunUpdateV1,
  CompletionV1,
  CompletionBatchV1,
  CheckpointV1,
  EventV1,
  StatusEventsV1,
  CommandV1,
  ControlV1,
  WorkerDeadV1,
  LogV1,
  RejectedV1,
  IngestedV1,
  DeadLetterV1,
  SpawnV1,
  Placement,
  WorkloadPlacementV1,
  Taint,
  TaintEffect,
  LabelSelector,
} from './generated/types.js';

export {
  WORKLOAD_STATUS,
  ACTIVE_STATUSES,
  FINAL_STATUSES,
  DEFAULT_TENANT,
  isActiveStatus,
} from './status.js';
export type { WorkloadStatus } from './status.js';
export { MAX_SIGNAL_PAYLOAD_BYTES, SIGNAL_NAME_PATTERN, WAIT_KINDS } from './waits.js';
export type { WaitKindName } from './waits.js';
