import type {
  ApiKeyCreatedV1,
  ApiKeyV1,
  AuditVerifyV1,
  CheckpointListV1,
  LogListV1,
  TenantCreateV1,
  TenantV1,
  WorkerV1,
  WorkloadSubmissionV1,
  WorkloadV1,
} from '@niyanta/messages';

export type {
  ApiKeyCreatedV1,
  ApiKeyV1,
  AuditVerifyV1,
  TenantCreateV1,
  TenantV1,
  WorkerV1,
  WorkloadSubmissionV1,
  WorkloadV1,
};

/** A workload's lifecycle status. */
export type WorkloadStatus = WorkloadV1['status'];

/** Statuses a workload never leaves. */
export const FINAL_STATUSES: readonly WorkloadStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** True when `status` is COMPLETED, FAILED or CANCELLED. */
export function isFinalStatus(status: WorkloadStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** Everything of a submission besides its type and input. */
export type SubmitOptions = Omit<WorkloadSubmissionV1, 'type' | 'input'>;

/** One log line of a run. */
export type LogLine = LogListV1['items'][number] & { attempt?: number };

/** One stored checkpoint's metadata. */
export type CheckpointInfo = CheckpointListV1['items'][number];

/**
 * What the client needs of a worker definition (`defineWorkload({ type, input, run })` from
 * `@niyanta/worker-sdk`): its type name, and `run`'s input and result types.
 */
export interface WorkloadDefinitionLike<I, R> {
  readonly type: string;
  run(ctx: never, input: I): R | PromiseLike<R>;
}

/** A status change: `toStatus` is the workload's status, `workload` its state after the change. */
export interface StatusEvent {
  type: 'status';
  workloadId: string;
  fromStatus: WorkloadStatus | null;
  toStatus: WorkloadStatus;
  reason: string | null;
  workload: WorkloadV1;
}

/** Progress the run reported. */
export interface ProgressEvent {
  type: 'progress';
  workloadId: string;
  attempt: number | null;
  fraction: number;
  message: string | null;
}

/** One log line of the run. */
export interface LogEvent {
  type: 'log';
  workloadId: string;
  attempt: number | null;
  at: string;
  stream: string;
  line: string;
}

/** What `WorkloadHandle.events()` yields. */
export type WorkloadEvent = StatusEvent | ProgressEvent | LogEvent;

/** Filters and paging of `list()`. */
export interface ListQuery {
  status?: WorkloadStatus;
  type?: string;
  /** Page size (1–500; the API's default is 50). */
  limit?: number;
  /** Start after this cursor (a page's `nextCursor`). */
  cursor?: string;
}

/** One page of workloads, newest first. */
export interface WorkloadPage {
  items: WorkloadV1[];
  /** The cursor of the next page, or null on the last. */
  nextCursor: string | null;
}

/** How placement judged one worker for a workload. */
export interface PlacementWorker {
  workerId: string;
  /** Whether every filter let the workload run there. */
  feasible: boolean;
  /** Why not (one per filter that refused), empty when feasible. */
  reasons: string[];
  /** The total score of a feasible worker (higher is better); null when infeasible. */
  score: number | null;
  /** Each scorer's part of `score`, by scorer name. */
  scores: Record<string, number>;
}

/**
 * `GET /v1/workloads/{id}/placement`: why a PENDING workload waits (every worker judged), or
 * where a placed one went and why.
 */
export interface PlacementExplanation {
  status: WorkloadStatus;
  /** Why it waits (PENDING). */
  pendingReason?: string | null;
  /** When placement last judged it. */
  evaluatedAt?: string | null;
  /** Every worker as placement saw it, best first. */
  workers?: PlacementWorker[];
  /** How many workers refused it for each reason. */
  reasonCounts?: Record<string, number>;
  /** The worker it was placed on (a placed workload). */
  workerId?: string | null;
  /** The score of the chosen worker, and its parts. */
  score?: number | null;
  scores?: Record<string, number>;
}
