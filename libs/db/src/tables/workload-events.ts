import type { ColumnType, Generated } from 'kysely';

/** One row per status change of a workload. Written only by the scheduler. */
export interface WorkloadEventsTable {
  id: Generated<string>;
  workload_id: string;
  from_status: string | null;
  to_status: string;
  attempt: number;
  reason: string | null;
  worker_id: string | null;
  at: ColumnType<Date, Date | string | undefined, never>;
}
