import type { WorkloadRow } from '@niyanta/db';

/**
 * The pending reason and event reason of a run handed back for a preemptor
 * (placement/preemption-pass.ts records who preempted which attempt); null otherwise.
 */
export function preemptedReason(row: Pick<WorkloadRow, 'attempt' | 'preemption'>): string | null {
  const p = row.preemption;
  return p !== null && p !== undefined && p.attempt === row.attempt ? `preempted by ${p.by}` : null;
}
