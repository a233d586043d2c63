import type { ErrorObject } from 'ajv';
import type { FieldError } from './errors.js';
import type { SchemaFile } from './generated/schemas.js';
import { VALIDATORS } from './generated/validators.js';
import type * as T from './generated/types.js';

/** Message kinds on the broker, each with its schema. */
export const MESSAGE_SCHEMAS = {
  submission: 'messages/submission.v1.json',
  assignment: 'messages/assignment.v1.json',
  heartbeat: 'messages/heartbeat.v1.json',
  runUpdate: 'messages/run-update.v1.json',
  completion: 'messages/completion.v1.json',
  completionBatch: 'messages/completion-batch.v1.json',
  checkpoint: 'messages/checkpoint.v1.json',
  event: 'messages/event.v1.json',
  statusEvents: 'messages/status-events.v1.json',
  command: 'messages/command.v1.json',
  control: 'messages/control.v1.json',
  workerDead: 'messages/worker-dead.v1.json',
  log: 'messages/log.v1.json',
  rejected: 'messages/rejected.v1.json',
  ingested: 'messages/ingested.v1.json',
  spawn: 'messages/spawn.v1.json',
  deadLetter: 'messages/dead-letter.v1.json',
} as const satisfies Record<string, SchemaFile>;

/** HTTP bodies, requests and responses. */
export const HTTP_SCHEMAS = {
  workloadSubmission: 'http/workload-submission.v1.json',
  workloadBatch: 'http/workload-batch.v1.json',
  workload: 'http/workload.v1.json',
  workloadList: 'http/workload-list.v1.json',
  workloadBatchResponse: 'http/workload-batch-response.v1.json',
  worker: 'http/worker.v1.json',
  workerList: 'http/worker-list.v1.json',
  cluster: 'http/cluster.v1.json',
  problem: 'http/problem.v1.json',
  workloadCommand: 'http/workload-command.v1.json',
  workloadSignal: 'http/workload-signal.v1.json',
  logList: 'http/log-list.v1.json',
  checkpointList: 'http/checkpoint-list.v1.json',
  tenantCreate: 'http/tenant-create.v1.json',
  tenantPatch: 'http/tenant-patch.v1.json',
  tenant: 'http/tenant.v1.json',
  tenantList: 'http/tenant-list.v1.json',
  apiKeyCreate: 'http/api-key-create.v1.json',
  apiKeyCreated: 'http/api-key-created.v1.json',
  apiKey: 'http/api-key.v1.json',
  apiKeyList: 'http/api-key-list.v1.json',
  auditEntry: 'http/audit-entry.v1.json',
  auditList: 'http/audit-list.v1.json',
  auditVerification: 'http/audit-verify.v1.json',
  secretPut: 'http/secret-put.v1.json',
  secretList: 'http/secret-list.v1.json',
  me: 'http/me.v1.json',
  workloadCounts: 'http/workload-counts.v1.json',
  workloadHistory: 'http/workload-history.v1.json',
  workloadPlacement: 'http/workload-placement.v1.json',
  scheduleCreate: 'http/schedule-create.v1.json',
  schedulePatch: 'http/schedule-patch.v1.json',
  schedule: 'http/schedule.v1.json',
  scheduleList: 'http/schedule-list.v1.json',
  workloadBulkCommand: 'http/workload-bulk-command.v1.json',
  workloadBulkResult: 'http/workload-bulk-result.v1.json',
} as const satisfies Record<string, SchemaFile>;

export type MessageKind = keyof typeof MESSAGE_SCHEMAS;
export type HttpSchemaKind = keyof typeof HTTP_SCHEMAS;

/** The TypeScript type of each message kind (generated from its schema). */
export interface MessageTypes {
  submission: T.SubmissionV1;
  assignment: T.AssignmentV1;
  heartbeat: T.HeartbeatV1;
  runUpdate: T.RunUpdateV1;
  completion: T.CompletionV1;
  completionBatch: T.CompletionBatchV1;
  checkpoint: T.CheckpointV1;
  event: T.EventV1;
  statusEvents: T.StatusEventsV1;
  command: T.CommandV1;
  control: T.ControlV1;
  workerDead: T.WorkerDeadV1;
  log: T.LogV1;
  rejected: T.RejectedV1;
  ingested: T.IngestedV1;
  spawn: T.SpawnV1;
  deadLetter: T.DeadLetterV1;
}

/** The TypeScript type of each HTTP schema. */
export interface HttpTypes {
  workloadSubmission: T.WorkloadSubmissionV1;
  workloadBatch: T.WorkloadBatchV1;
  workload: T.WorkloadV1;
  workloadList: T.WorkloadListV1;
  workloadBatchResponse: T.WorkloadBatchResponseV1;
  worker: T.WorkerV1;
  workerList: T.WorkerListV1;
  cluster: T.ClusterV1;
  problem: T.ProblemV1;
  workloadCommand: T.WorkloadCommandV1;
  workloadSignal: T.WorkloadSignalV1;
  logList: T.LogListV1;
  checkpointList: T.CheckpointListV1;
  tenantCreate: T.TenantCreateV1;
  tenantPatch: T.TenantPatchV1;
  tenant: T.TenantV1;
  tenantList: T.TenantListV1;
  apiKeyCreate: T.ApiKeyCreateV1;
  apiKeyCreated: T.ApiKeyCreatedV1;
  apiKey: T.ApiKeyV1;
  apiKeyList: T.ApiKeyListV1;
  auditEntry: T.AuditEntryV1;
  auditList: T.AuditListV1;
  auditVerification: T.AuditVerifyV1;
  secretPut: T.SecretPutV1;
  secretList: T.SecretListV1;
  me: T.MeV1;
  workloadCounts: T.WorkloadCountsV1;
  workloadHistory: T.WorkloadHistoryV1;
  workloadPlacement: T.WorkloadPlacementV1;
  scheduleCreate: T.ScheduleCreateV1;
  schedulePatch: T.SchedulePatchV1;
  schedule: T.ScheduleV1;
  scheduleList: T.ScheduleListV1;
  workloadBulkCommand: T.WorkloadBulkCommandV1;
  workloadBulkResult: T.WorkloadBulkResultV1;
}

/** An ajv standalone validator: true or false, and the errors of its last call. */
type Validator = ((value: unknown) => boolean) & { errors?: ErrorObject[] | null };

// Compiled to code by `npm run gen` (ajv with allErrors, strict, date-time and uuid formats):
// compiling at run time cost each process 0.2-0.3 s of CPU when its first message came.
const validators: Partial<Record<SchemaFile, Validator>> = VALIDATORS;

const escapePointer = (token: string) => token.replaceAll('~', '~0').replaceAll('/', '~1');

/** The most field errors an HTTP answer lists: a body with thousands of mistakes gets the first. */
export const MAX_HTTP_FIELD_ERRORS = 20;

/**
 * Turns ajv errors into `{path, message}` with JSON Pointers that name the field itself; at most
 * `max` of them.
 */
export function toFieldErrors(
  errors: readonly ErrorObject[] | null | undefined,
  max = Number.POSITIVE_INFINITY,
): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    if (out.length >= max) break;
    let path = e.instancePath;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      path += `/${escapePointer(String(e.params.missingProperty))}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      path += `/${escapePointer(String(e.params.additionalProperty))}`;
      message = 'is not an allowed field';
    } else if (e.keyword === 'propertyNames') {
      path += `/${escapePointer(String(e.params.propertyName))}`;
      message = 'is not an allowed name';
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'const') {
      message = `must be ${JSON.stringify(e.params.allowedValue)}`;
    } else if (e.keyword === 'if' || e.keyword === 'oneOf' || e.keyword === 'anyOf') {
      continue; // the branch errors say more
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  return out;
}

/**
 * Validates a value against a schema file; returns the field errors (empty when valid), at most
 * `maxErrors` of them.
 */
export function validateSchema(file: SchemaFile, value: unknown, maxErrors?: number): FieldError[] {
  const validate = validators[file];
  if (!validate) throw new Error(`no schema ${file}`);
  return validate(value) ? [] : toFieldErrors(validate.errors, maxErrors);
}

/** Validates a broker message of the given kind. */
export function validateMessage(kind: MessageKind, value: unknown): FieldError[] {
  return validateSchema(MESSAGE_SCHEMAS[kind], value);
}

/** Validates an HTTP body or response of the given kind; at most MAX_HTTP_FIELD_ERRORS errors. */
export function validateHttp(kind: HttpSchemaKind, value: unknown): FieldError[] {
  return validateSchema(HTTP_SCHEMAS[kind], value, MAX_HTTP_FIELD_ERRORS);
}
