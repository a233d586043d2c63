import type { Progress, WorkloadError, WorkloadStatus } from '@niyanta/messages';

/** What a user asked of an active run, remembered until the run ends. */
export const REQUESTED_ACTION = { cancel: 'cancel', pause: 'pause' } as const;
export type RequestedAction = (typeof REQUESTED_ACTION)[keyof typeof REQUESTED_ACTION];

/**
 * One status change of one workload, as a decision states it. Applied only if the row still has
 * `from` and `attempt` (callers lock the rows first, so this guard is a safety net, not the
 * fencing itself).
 */
export interface Change {
  id: string;
  from: WorkloadStatus;
  to: WorkloadStatus;
  /** The row's attempt now (before `incrementAttempt`). */
  attempt: number;
  /** Why, for workload_events and the status event. */
  reason: string | null;
  /** The worker named in the workload_events row; default: the row's worker after the change. */
  eventWorkerId?: string | null;
  /** Placement: `attempt + 1` (the new fencing token) and this worker. */
  incrementAttempt?: boolean;
  workerId?: string | null;
  result?: unknown;
  error?: WorkloadError | null;
  progress?: Progress | null;
  pendingReason?: string | null;
  /** `null` clears run_at; a number sets it to the database's now() plus that many ms. */
  runAfterMs?: number | null;
  /** 'now' sets finished_at, 'clear' empties it. */
  finished?: 'now' | 'clear';
  /** Sets started_at once (the first run). */
  started?: boolean;
  /** When the run started by the worker's clock (kept within created_at..now); default now(). */
  startedAt?: string;
  /**
   * A run that ended while SCHEDULED (a short run sends no `started`): the same row version
   * records its start, and workload_events gets SCHEDULED → RUNNING with this reason before the
   * change's own row, which then leaves RUNNING.
   */
  startStep?: { reason: string };
  /** Raises max_attempts to at least this. */
  minMaxAttempts?: number;
  /**
   * Sets (or with null clears) the cancel/pause asked of the run. Whatever this says, a change to
   * a status other than SCHEDULED or RUNNING clears it: a request lives only as long as its run.
   */
  requestedAction?: RequestedAction | null;
  /**
   * Applies only if the row still has these (a change computed from a row read without a lock:
   * anything it was decided on must be unchanged, or the caller reads again and decides anew).
   */
  expect?: { workerId: string | null; maxAttempts: number; requestedAction: string | null };
}
