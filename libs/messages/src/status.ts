/** Workload statuses (upper case on the wire and in PostgreSQL). */
export const WORKLOAD_STATUS = {
  SUBMITTED: 'SUBMITTED',
  PENDING: 'PENDING',
  SCHEDULED: 'SCHEDULED',
  RUNNING: 'RUNNING',
  PAUSED: 'PAUSED',
  /** In a durable wait (a sleep, a signal, children): holds no slot, resumes when it ends. */
  WAITING: 'WAITING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
} as const;
export type WorkloadStatus = (typeof WORKLOAD_STATUS)[keyof typeof WORKLOAD_STATUS];

/** Statuses of a run in progress: placed on a worker, or running there. */
export const ACTIVE_STATUSES: readonly WorkloadStatus[] = ['SCHEDULED', 'RUNNING'];

/** Whether a status (as stored) is one of {@link ACTIVE_STATUSES}. */
export function isActiveStatus(status: string): boolean {
  return (ACTIVE_STATUSES as readonly string[]).includes(status);
}

/** Statuses a workload never leaves. */
export const FINAL_STATUSES: readonly WorkloadStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** The tenant every installation has. */
export const DEFAULT_TENANT = 'default';
