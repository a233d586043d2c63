import { checkpointBytes, checkpoints } from '@niyanta/telemetry';

/** What the metrics read of a stored checkpoint. */
export interface StoredRow {
  storage: 'inline' | 'blob';
  size: number;
}

/**
 * Counts the checkpoints a batch inserted (duplicates and refused ones are not in `inserted`),
 * with their bytes, by storage. Rows are keyed `workloadId:attempt:seq`.
 */
export function observeStored(
  inserted: readonly { workloadId: string; attempt: number; seq: number }[],
  rows: ReadonlyMap<string, StoredRow>,
): void {
  for (const key of inserted) {
    const row = rows.get(`${key.workloadId}:${key.attempt}:${key.seq}`);
    if (row === undefined) continue;
    checkpoints.inc({ storage: row.storage });
    checkpointBytes.inc({ storage: row.storage }, row.size);
  }
}
