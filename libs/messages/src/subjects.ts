import { InvalidSubjectTokenError } from './errors.js';

const TOKEN_RE = /^[A-Za-z0-9_-]{1,128}$/;

/** Throws unless `value` can be one subject token (no dots, spaces or wildcards). */
export function assertSubjectToken(field: string, value: string): string {
  if (!TOKEN_RE.test(value)) throw new InvalidSubjectTokenError(field, value);
  return value;
}

/** Whether `value` can be one subject token. */
export function isSubjectToken(value: string): boolean {
  return TOKEN_RE.test(value);
}

const INGESTED_PREFIX = 'niyanta.ingested.';

/**
 * Header of a submission asking for an `ingested` notice on this subject (`SUBJECTS.ingested`)
 * once its row is committed: the API's 201 wait, without receiving every status event.
 */
export const INGEST_NOTIFY_HEADER = 'Niyanta-Notify';

/**
 * The notice subject a submission's INGEST_NOTIFY_HEADER names, or undefined when it names none
 * or anything but an `ingested` subject (a client cannot have the scheduler publish elsewhere).
 */
export function ingestNotifySubject(value: string | undefined): string | undefined {
  if (value === undefined || !value.startsWith(INGESTED_PREFIX)) return undefined;
  return isSubjectToken(value.slice(INGESTED_PREFIX.length)) ? value : undefined;
}

/** Every subject Niyanta uses; services never write subject literals. */
export const SUBJECTS = {
  submit: (tenant: string) => `niyanta.submit.${assertSubjectToken('tenant', tenant)}`,
  submitAll: 'niyanta.submit.>',
  assign: (workerId: string) => `niyanta.assign.${assertSubjectToken('workerId', workerId)}`,
  assignAll: 'niyanta.assign.>',
  heartbeat: (workerId: string) => `niyanta.heartbeat.${assertSubjectToken('workerId', workerId)}`,
  heartbeatAll: 'niyanta.heartbeat.>',
  run: (workloadId: string) => `niyanta.run.${workloadId}`,
  runAll: 'niyanta.run.>',
  checkpoint: (workloadId: string) => `niyanta.checkpoint.${workloadId}`,
  checkpointAll: 'niyanta.checkpoint.>',
  complete: (workloadId: string) => `niyanta.complete.${workloadId}`,
  completeAll: 'niyanta.complete.>',
  /** Many completions of one worker in one message (`completion-batch`). */
  completions: (workerId: string) =>
    `niyanta.completions.${assertSubjectToken('workerId', workerId)}`,
  completionsAll: 'niyanta.completions.>',
  /**
   * The status events of one tenant's workloads (`status-events`: one message per transaction).
   * Per tenant, so that a broker user can be allowed exactly its tenant's events.
   */
  events: (tenant: string) => `niyanta.events.${assertSubjectToken('tenant', tenant)}`,
  eventsAll: 'niyanta.events.>',
  command: (tenant: string) => `niyanta.command.${assertSubjectToken('tenant', tenant)}`,
  commandAll: 'niyanta.command.>',
  control: (workerId: string) => `niyanta.control.${assertSubjectToken('workerId', workerId)}`,
  controlAll: 'niyanta.control.>',
  workerDead: (workerId: string) =>
    `niyanta.worker.dead.${assertSubjectToken('workerId', workerId)}`,
  workerDeadAll: 'niyanta.worker.dead.>',
  /** Child workloads a run spawns (`spawn`), fenced by the parent's attempt. */
  spawn: (parentId: string) => `niyanta.spawn.${assertSubjectToken('parentId', parentId)}`,
  spawnAll: 'niyanta.spawn.>',
  logs: (workloadId: string) => `niyanta.logs.${workloadId}`,
  logsAll: 'niyanta.logs.>',
  rejected: 'niyanta.rejected',
  /** A message the consumers of `stream` gave up on (`dead-letter`), once it is recorded. */
  dead: (stream: string) => `niyanta.dead.${assertSubjectToken('stream', stream)}`,
  deadAll: 'niyanta.dead.>',
  /**
   * Core NATS, no stream: the scheduler's notice to the API instance that published a batch of
   * submissions that they are in PostgreSQL (named by the submissions' INGEST_NOTIFY_HEADER).
   */
  ingested: (instance: string) => `${INGESTED_PREFIX}${assertSubjectToken('instance', instance)}`,
  ingestedAll: 'niyanta.ingested.>',
} as const;

/** The last token of a subject (`niyanta.submit.acme` -> `acme`), or undefined. */
export function lastToken(subject: string): string | undefined {
  const i = subject.lastIndexOf('.');
  return i < 0 ? undefined : subject.slice(i + 1);
}

/** The `Nats-Msg-Id` of a submission: the broker drops a second one inside its window. */
export function submissionMsgId(tenant: string, id: string, idempotencyKey?: string): string {
  return idempotencyKey === undefined ? `${tenant}:${id}` : `${tenant}:${idempotencyKey}`;
}

/**
 * The `Nats-Msg-Id` of a spawn message: the same calls of the same attempt are one message for
 * the broker's duplicate window (ids of children are derived, so a later resend is a no-op too).
 */
export function spawnMsgId(parentId: string, attempt: number, firstIndex: number): string {
  return `spawn:${parentId}:${attempt}:${firstIndex}`;
}
