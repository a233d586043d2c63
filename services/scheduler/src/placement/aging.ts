import { effectivePriority } from '@niyanta/db';

/** A PENDING workload as aging sees it: its priority and when it became due (ms). */
export interface Aging {
  id: string;
  priority: number;
  /** Created, or its runAt or retry time if later (ms since the epoch). */
  due_ms: number;
}

/** Its priority raised by the time it has waited (see `effectivePriority`). */
export function agedPriority(row: Aging, nowMs: number, agingMs: number): number {
  return effectivePriority(row.priority, row.due_ms, nowMs, agingMs);
}

/**
 * A tenant's queue order: highest effective priority first, then oldest (smallest UUIDv7). With
 * aging off this is the queue index's own order (priority desc, id).
 */
export function byEffectivePriority<T extends Aging>(
  rows: readonly T[],
  nowMs: number,
  agingMs: number,
): T[] {
  const keyed = rows.map((row) => ({ row, p: agedPriority(row, nowMs, agingMs) }));
  keyed.sort((a, b) => b.p - a.p || (a.row.id < b.row.id ? -1 : a.row.id > b.row.id ? 1 : 0));
  return keyed.map((k) => k.row);
}
