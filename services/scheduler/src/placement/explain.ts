import type { ExplainedWorker, PlacementExplanation } from '@niyanta/db';
import { holdsEach } from './fit.js';
import type { Fleet, PendingWorkload, PlacementState } from './framework.js';
import { resourceChecks } from './resources.js';
import { TOO_SMALL_REASON, scoresAt } from './shape.js';
import type { Shape } from './shape.js';

/** Workers an explanation lists one by one; the others are counted per reason. */
export const EXPLAINED_WORKERS_MAX = 50;

/** Why worker `w` cannot take the workload now, every reason in plain words (none: it can). */
export function reasonsOn(job: PendingWorkload, fleet: Fleet, shape: Shape, w: number): string[] {
  const worker = fleet.workers[w]!;
  if (!worker.types.includes(job.type)) return [`does not handle type "${job.type}"`];
  const { cpu, mem, gpu } = shape;
  if (!holdsEach(fleet.totalCpu[w]!, fleet.totalMem[w]!, fleet.totalGpu[w]!, cpu, mem, gpu))
    return [TOO_SMALL_REASON];
  const reasons: string[] = [];
  for (const c of shape.staticChecks) if (!c.ok(w)) reasons.push(c.reason);
  for (const c of resourceChecks(fleet, { cpu, memoryMb: mem, gpu }))
    if (!c.ok(w)) reasons.push(c.reason);
  for (const c of shape.checks) if (!c.ok(w)) reasons.push(c.reason);
  return reasons;
}

/**
 * Every live worker's verdict on a workload now: the {@link EXPLAINED_WORKERS_MAX} best (feasible
 * first, highest score, then id) with their reasons and scores, and how many of the rest give
 * each reason.
 */
export function explainOn(
  job: PendingWorkload,
  fleet: Fleet,
  _state: PlacementState,
  shape: Shape,
): PlacementExplanation {
  const all: ExplainedWorker[] = [];
  for (let w = 0; w < fleet.size; w++) {
    const reasons = reasonsOn(job, fleet, shape, w);
    const feasible = reasons.length === 0;
    const { score, scores } = feasible ? scoresAt(shape, fleet, w) : { score: 0, scores: {} };
    all.push({ workerId: fleet.ids[w]!, feasible, reasons, score, scores });
  }
  all.sort(
    (a, b) =>
      Number(b.feasible) - Number(a.feasible) ||
      b.score - a.score ||
      (a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : 0),
  );
  const reasonCounts: Record<string, number> = {};
  for (const e of all.slice(EXPLAINED_WORKERS_MAX))
    for (const r of e.reasons) reasonCounts[r] = (reasonCounts[r] ?? 0) + 1;
  return { workers: all.slice(0, EXPLAINED_WORKERS_MAX), reasonCounts, evaluated: fleet.size };
}
