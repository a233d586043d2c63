/** The highest priority there is; aging never lifts a workload past it. */
export const PRIORITY_MAX = 1000;

/**
 * Priority aging: a PENDING workload's priority plus one for every `agingMs` it has waited since
 * it became due (`dueMs`: created, or its runAt or retry time if later), at most
 * {@link PRIORITY_MAX}. `agingMs` 0 turns aging off. Pure; the scheduler orders a tenant's queue
 * by it and the API shows it as `effectivePriority`.
 */
export function effectivePriority(
  priority: number,
  dueMs: number,
  nowMs: number,
  agingMs: number,
): number {
  if (agingMs <= 0 || priority >= PRIORITY_MAX) return priority;
  const waited = nowMs - dueMs;
  if (!(waited > 0)) return priority;
  return Math.min(PRIORITY_MAX, priority + Math.floor(waited / agingMs));
}
