/** The pending reason of a workload waiting on dependencies, as the SQL bookkeeping says it. */
export function dependencyWaitReason(waiting: number, total: number): string {
  return `waiting for ${waiting} of ${total} dependencies`;
}

/** Whether a submission names dependencies: only those pay for any of this. */
export function hasDependencies(submission: { dependsOn?: readonly string[] }): boolean {
  return (submission.dependsOn?.length ?? 0) > 0;
}

/** What a failed dependency does to its dependents when the submission does not say. */
export const DEFAULT_ON_DEPENDENCY_FAILURE = 'cancel';

/** The error code of a workload cancelled because a dependency ended FAILED or CANCELLED. */
export const DEPENDENCY_FAILED = 'DEPENDENCY_FAILED';

/** How a workload with dependencies waits when inserted: parked (out of the queue), saying so. */
export function waitingOnDependencies(submission: { dependsOn?: readonly string[] }): {
  reason: string;
  parked: true;
} {
  const n = new Set(submission.dependsOn!.map((d) => d.toLowerCase())).size;
  return { reason: dependencyWaitReason(n, n), parked: true };
}
