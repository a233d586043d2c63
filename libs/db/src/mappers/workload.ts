import type { Selectable } from 'kysely';
import type { WorkloadV1 } from '@niyanta/messages';
import type { WorkloadsTable } from '../tables/workloads.js';
import { isoTimestamp } from '../timestamps.js';
import { effectivePriority } from '../effective-priority.js';

/** A workloads row as read from PostgreSQL. */
export type WorkloadRow = Selectable<WorkloadsTable>;

const iso = (d: Date | string | null): string | null =>
  d === null ? null : isoTimestamp(d instanceof Date ? d : new Date(d));

/** The workload as the API returns it (and as status events carry it). */
export function toWorkload(row: WorkloadRow): WorkloadV1 {
  return {
    id: row.id,
    tenant: row.tenant,
    type: row.type,
    status: row.status as WorkloadV1['status'],
    priority: row.priority,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    input: row.input,
    result: row.result ?? null,
    error: row.error ?? null,
    progress: row.progress
      ? { fraction: row.progress.fraction, message: row.progress.message ?? null }
      : null,
    workerId: row.worker_id,
    pendingReason: row.pending_reason,
    labels: row.labels ?? {},
    requirements: row.requirements ?? {},
    runAt: iso(row.run_at),
    timeoutSeconds: row.timeout_seconds,
    idempotencyKey: row.idempotency_key,
    scheduleId: row.schedule_id ?? null,
    parentId: row.parent_id ?? null,
    ...(row.parent_id == null ? {} : { detached: row.detached ?? false }),
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    ...(row.concurrency_key == null
      ? {}
      : {
          concurrencyKey: row.concurrency_key,
          concurrencyLimit: row.concurrency_limit ?? 1,
          ordered: row.ordered ?? false,
        }),
    preemptible: row.preemptible ?? true,
  };
}

/**
 * The workload with its `effectivePriority` (see `effectivePriority`): aged while PENDING, its
 * priority otherwise.
 */
export function withEffectivePriority(
  workload: WorkloadV1,
  agingMs: number,
  nowMs: number = Date.now(),
): WorkloadV1 {
  if (workload.status !== 'PENDING') return { ...workload, effectivePriority: workload.priority };
  const created = Date.parse(workload.createdAt);
  const due = workload.runAt === null ? created : Math.max(created, Date.parse(workload.runAt));
  return {
    ...workload,
    effectivePriority: effectivePriority(workload.priority, due, nowMs, agingMs),
  };
}
