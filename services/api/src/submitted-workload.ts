import type { SubmissionV1, WorkloadV1 } from '@niyanta/messages';
import { WORKLOAD_STATUS } from '@niyanta/messages';

/**
 * What a 202 answers: the submission as a workload in status SUBMITTED (durable in the broker,
 * not yet in PostgreSQL), with null for everything only the scheduler knows.
 */
export function submittedWorkload(
  submission: SubmissionV1,
  tenant: string,
  now: Date = new Date(),
): WorkloadV1 {
  const at = now.toISOString();
  return {
    id: submission.id,
    tenant,
    type: submission.type,
    status: WORKLOAD_STATUS.SUBMITTED,
    priority: submission.priority ?? 500,
    attempt: 0,
    maxAttempts: submission.maxAttempts ?? 3,
    input: submission.input,
    result: null,
    error: null,
    progress: null,
    workerId: null,
    pendingReason: null,
    labels: submission.labels ?? {},
    requirements: submission.requirements ?? {},
    runAt: submission.runAt ?? null,
    timeoutSeconds: submission.timeoutSeconds ?? null,
    idempotencyKey: submission.idempotencyKey ?? null,
    createdAt: at,
    updatedAt: at,
    startedAt: null,
    finishedAt: null,
  };
}
