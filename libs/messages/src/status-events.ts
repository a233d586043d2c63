import { enveloped } from './codec.js';
import type { Outgoing } from './publish.js';
import { WORKLOAD_STATUS } from './status.js';
import type { WorkloadStatus } from './status.js';
import { SUBJECTS } from './subjects.js';
import type { Progress, StatusEventsV1, WorkloadV1 } from './generated/types.js';

/** One change in a `statusEvents` message: a transition or a progress report of one workload. */
export type StatusChange = StatusEventsV1['changes'][number];

/**
 * The most changes one message carries (the schema's maxItems): a transaction with more is
 * split. About 250 bytes a change (up to about 600 with long reasons), so a full message stays
 * under the default max_payload (1 MiB).
 */
export const MAX_CHANGES_PER_MESSAGE = 1000;

/** A transition as the scheduler committed it, with the small fields that changed. */
export interface StatusChangeInput {
  workloadId: string;
  tenant: string;
  from: WorkloadStatus | null;
  to: WorkloadStatus;
  attempt: number;
  reason: string | null;
  /** The row's updated_at after the change (RFC 3339). */
  at: string;
  workerId: string | null;
  /** The row's progress after the change (null or absent: none). */
  progress?: Progress | null;
  /** The code of the row's error after the change (null or absent: no error). */
  errorCode?: string | null;
  /** Why the row waits after the change (null or absent: no reason). */
  pendingReason?: string | null;
}

/** A stored progress report of a run. */
export interface ProgressChangeInput {
  workloadId: string;
  tenant: string;
  attempt: number;
  at: string;
  progress: Progress;
}

/**
 * Collects the changes of one transaction and makes its status-event messages: one per tenant
 * whose workloads changed (split past MAX_CHANGES_PER_MESSAGE), changes in the order added.
 */
export class StatusEventBatch {
  private readonly byTenant = new Map<string, StatusChange[]>();

  /** Adds a transition. */
  status(c: StatusChangeInput): this {
    const change: StatusChange = {
      workloadId: c.workloadId,
      kind: 'status',
      from: c.from,
      to: c.to,
      attempt: c.attempt,
      reason: c.reason,
      at: c.at,
      workerId: c.workerId,
    };
    if (c.progress !== undefined && c.progress !== null) change.progress = c.progress;
    if (c.errorCode !== undefined && c.errorCode !== null) change.errorCode = c.errorCode;
    if (c.pendingReason !== undefined && c.pendingReason !== null) {
      change.pendingReason = c.pendingReason;
    }
    this.add(c.tenant, change);
    return this;
  }

  /** Adds a progress report. */
  progress(p: ProgressChangeInput): this {
    this.add(p.tenant, {
      workloadId: p.workloadId,
      kind: 'progress',
      attempt: p.attempt,
      at: p.at,
      progress: p.progress,
    });
    return this;
  }

  /** How many changes were added. */
  get size(): number {
    let n = 0;
    for (const changes of this.byTenant.values()) n += changes.length;
    return n;
  }

  /**
   * The messages, on each tenant's events subject. Built from typed values, they skip a second
   * ajv run on publish (`validated`); consumers validate them on decode. No Nats-Msg-Id: they are
   * a live feed (PostgreSQL is the record) and a retry would build them anew.
   */
  messages(): Outgoing<'statusEvents'>[] {
    const out: Outgoing<'statusEvents'>[] = [];
    for (const [tenant, changes] of this.byTenant) {
      const subject = SUBJECTS.events(tenant);
      for (let i = 0; i < changes.length; i += MAX_CHANGES_PER_MESSAGE) {
        const part = changes.slice(i, i + MAX_CHANGES_PER_MESSAGE);
        out.push({
          kind: 'statusEvents',
          subject,
          msgId: null,
          validated: true,
          message: enveloped<StatusEventsV1>({
            tenant,
            changes: part as StatusEventsV1['changes'],
          }),
        });
      }
    }
    return out;
  }

  private add(tenant: string, change: StatusChange): void {
    let changes = this.byTenant.get(tenant);
    if (changes === undefined) {
      changes = [];
      this.byTenant.set(tenant, changes);
    }
    changes.push(change);
  }
}

/** The changes of one workload in a message, in order. */
export function changesOf(message: StatusEventsV1, workloadId: string): StatusChange[] {
  return message.changes.filter((c) => c.workloadId === workloadId);
}

/**
 * The workload as `GET` would return it after `change`, made from `workload` (as read before
 * it) and the change alone; or undefined where the change leaves fields it does not carry (read
 * the workload for those):
 * - a final status: its result, error, finishedAt;
 * - PENDING (a retry, a requeue, a resume) and PAUSED: runAt, pendingReason, the error;
 * - RUNNING without a startedAt yet: when the run started (the worker's clock);
 * - an error code other than the workload's: the error's message.
 * SCHEDULED (placement: no pending reason) and a progress report change only what they carry.
 * A change older than the workload (read after it was made) is in it already: the workload as is.
 */
export function applyChange(workload: WorkloadV1, change: StatusChange): WorkloadV1 | undefined {
  if (change.at < workload.updatedAt) return workload;
  if (change.kind === 'progress') {
    if (change.progress === undefined) return workload;
    return { ...workload, progress: progressOf(change.progress), updatedAt: change.at };
  }
  const to = change.to;
  const errorCode = change.errorCode ?? null;
  if (errorCode !== (workload.error?.code ?? null)) return undefined;
  if (to === WORKLOAD_STATUS.RUNNING && workload.startedAt === null) return undefined;
  if (to !== WORKLOAD_STATUS.SCHEDULED && to !== WORKLOAD_STATUS.RUNNING) return undefined;
  return {
    ...workload,
    status: to,
    attempt: change.attempt,
    workerId: change.workerId ?? null,
    progress: change.progress === undefined ? null : progressOf(change.progress),
    pendingReason: to === WORKLOAD_STATUS.SCHEDULED ? null : workload.pendingReason,
    updatedAt: change.at,
  };
}

const progressOf = (p: Progress) => ({ fraction: p.fraction, message: p.message ?? null });
