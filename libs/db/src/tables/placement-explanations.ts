import type { ColumnType } from 'kysely';

// jsonb columns: read as parsed JSON, written as JSON text (pg would turn a JS array into a PostgreSQL array).
type Json<T> = ColumnType<T, string, string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** One worker as a placement evaluation saw it. */
export interface ExplainedWorker {
  workerId: string;
  feasible: boolean;
  /** Why it cannot take the workload, in plain words (empty when feasible). */
  reasons: string[];
  score: number;
  /** Each scorer's number, by name. */
  scores: Record<string, number>;
}

/** What the explanation holds: the best workers and, for the rest, counts per reason. */
export interface PlacementExplanation {
  workers: ExplainedWorker[];
  reasonCounts: Record<string, number>;
  /** Workers evaluated in all. */
  evaluated: number;
}

/**
 * The scheduler's latest placement evaluation of a workload: why it waits (PENDING) or the
 * decision that placed it (PLACED). Written only by the scheduler, read by the API.
 */
export interface PlacementExplanationsTable {
  workload_id: string;
  status: 'PENDING' | 'PLACED';
  evaluated_at: Timestamp;
  pending_reason: string | null;
  worker_id: string | null;
  explanation: Json<PlacementExplanation>;
}
