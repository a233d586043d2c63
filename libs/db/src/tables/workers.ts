import type { ColumnType } from 'kysely';

// jsonb columns: read as parsed JSON, written as JSON text (pg would turn a JS array into a PostgreSQL array).
type Json<T> = ColumnType<T, string, string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** Workers as their heartbeats describe them. Written only by the health monitor. */
export interface WorkersTable {
  id: string;
  status: string;
  capacity: Json<{ slots: number; cpu: number; memoryMb: number; gpu: number }>;
  free_slots: number;
  labels: Json<Record<string, string>>;
  zone: string | null;
  types: Json<string[]>;
  /** Its taints (WORKER_TAINTS). */
  taints: ColumnType<
    { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' }[],
    string | undefined,
    string
  >;
  cost_per_hour: ColumnType<number | null, number | null | undefined, number | null>;
  spot: ColumnType<boolean, boolean | undefined, boolean>;
  running: Json<{ workloadId: string; attempt: number; fraction?: number; startedAt?: string }[]>;
  heartbeat_interval_ms: number;
  /** The worker's own time of its latest beat: orders its beats, never used for liveness. */
  last_heartbeat_at: Timestamp;
  /** When the latest beat was received, by the database's clock: liveness is judged on this. */
  heard_at: ColumnType<Date, Date | string | undefined, Date | string>;
  started_at: Timestamp;
  dead_at: Timestamp | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: Timestamp;
}
