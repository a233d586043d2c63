import type { ColumnType } from 'kysely';

/** Committed checkpoints. Written only by the checkpoint service. */
export interface CheckpointsTable {
  workload_id: string;
  seq: number;
  attempt: number;
  size: number;
  sha256: string;
  storage: 'inline' | 'blob';
  /** Compressed state when `storage` is inline. */
  data: Buffer | null;
  blob_key: string | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}
