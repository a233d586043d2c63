/** Why a dead worker's runs went back to PENDING (names the worker, for workload_events). */
export function deadWorkerReason(workerId: string, reason: string | undefined): string {
  return reason
    ? `worker ${workerId} declared dead: ${reason}`
    : `worker ${workerId} declared dead`;
}

/** Why a lost attempt went back to PENDING. */
export function lostAttemptReason(
  workerId: string,
  attempt: number,
  reason: string | undefined,
): string {
  return `attempt ${attempt} lost on worker ${workerId}${reason ? `: ${reason}` : ''}`;
}

/** An attempt found lost on a worker (reconciliation), with why. */
export interface LostAttempt {
  attempt: number;
  workerId: string;
  reason?: string;
}

/**
 * Why an active run goes back (or ends as requested): its worker was declared dead, or it is the
 * attempt found lost, on the worker it was found lost on. Undefined: the run stays as it is.
 */
export function unfinishedRunReason(
  row: { id: string; attempt: number; worker_id: string | null },
  deadWorkers: ReadonlyMap<string, string | undefined>,
  lost: ReadonlyMap<string, LostAttempt>,
): string | undefined {
  if (row.worker_id !== null && deadWorkers.has(row.worker_id)) {
    return deadWorkerReason(row.worker_id, deadWorkers.get(row.worker_id));
  }
  const l = lost.get(row.id);
  if (!l || l.attempt !== row.attempt || l.workerId !== row.worker_id) return undefined;
  return lostAttemptReason(l.workerId, l.attempt, l.reason);
}
