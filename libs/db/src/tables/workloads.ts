import type { ColumnType, Generated } from 'kysely';
import type { WorkloadPlacement } from './workload-placement.js';

// jsonb columns: read as parsed JSON, written as JSON text (pg would turn a JS array into a PostgreSQL array).
type Json<T> = ColumnType<T, string, string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** Workloads: the queue and the record of every run. Written only by the scheduler. */
export interface WorkloadsTable {
  id: string;
  tenant: string;
  type: string;
  status: string;
  priority: number;
  attempt: Generated<number>;
  max_attempts: number;
  input: Json<unknown>;
  result: Json<unknown> | null;
  error: Json<{ message: string; code: string; retryable: boolean; details?: unknown }> | null;
  progress: Json<{ fraction: number; message?: string | null }> | null;
  worker_id: string | null;
  pending_reason: string | null;
  labels: Json<Record<string, string>>;
  requirements: Json<{ cpu?: number; memoryMb?: number; gpu?: number }>;
  /** Its placement terms (docs/scheduling.md); null when it has none. */
  placement: ColumnType<WorkloadPlacement | null, string | null | undefined, string | null>;
  run_at: Timestamp | null;
  timeout_seconds: number | null;
  idempotency_key: string | null;
  /** The schedule that fired it: derived by PostgreSQL from a `schedule:<id>:<time>` idempotency key. */
  schedule_id: ColumnType<string | null, never, never>;
  trace_parent: string | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  /** A cancel or pause asked of the active run, honoured however the run ends; null otherwise. */
  requested_action: 'cancel' | 'pause' | null;
  /** PENDING and no live worker could ever take it: out of the queue until the fleet grows. */
  parked: Generated<boolean>;
  /** Id of the API key that submitted it (`root` for the root key); null from the broker. */
  submitted_by: ColumnType<string | null, string | null | undefined, string | null>;
  /** Names of the tenant's secrets the run receives (never their values). */
  secrets: ColumnType<string[], string[] | undefined, string[]>;
  /** At most `concurrency_limit` of the tenant's workloads with this key are SCHEDULED or RUNNING. */
  concurrency_key: ColumnType<string | null, string | null | undefined, string | null>;
  concurrency_limit: ColumnType<number | null, number | null | undefined, number | null>;
  /** The key is an ordered queue: the next starts only when the previous one has ended. */
  ordered: Generated<boolean>;
  /** A higher-priority workload may stop it and take its place (it resumes later). */
  preemptible: Generated<boolean>;
  /** The workload that preempted attempt `attempt` of this one; null if never preempted. */
  /** The workload that spawned it (`ctx.spawn`); null for a submitted one. */
  parent_id: ColumnType<string | null, string | null | undefined, never>;
  /** Its 0-based call index among its parent's spawns; null without a parent. */
  child_index: ColumnType<number | null, number | null | undefined, never>;
  /** A child left running when its parent is cancelled. */
  detached: Generated<boolean>;
  preemption: ColumnType<
    { by: string; attempt: number } | null,
    string | null | undefined,
    string | null
  >;
  /** Dependencies not met yet (docs/workflows.md); while above 0 a PENDING row stays parked. */
  deps_waiting: Generated<number>;
  /** Some workload depends on this one: its end runs the dependency bookkeeping (migration 0015). */
  has_dependents: Generated<boolean>;
  /** What a failed dependency does to it: null when it has no dependencies. */
  on_dependency_failure: ColumnType<
    'cancel' | 'run' | null,
    'cancel' | 'run' | null | undefined,
    'cancel' | 'run' | null
  >;
}
