/** The priority of a submission that names none. */
export const DEFAULT_PRIORITY = 500;
/** The attempts of a submission that names no maxAttempts. */
export const DEFAULT_MAX_ATTEMPTS = 3;

/** The pending reason of a workload submitted with a runAt still to come, else null. */
export function waitingReason(runAt: string | undefined, now: number = Date.now()): string | null {
  if (runAt === undefined) return null;
  const at = Date.parse(runAt);
  return at > now ? `waiting until runAt ${new Date(at).toISOString()}` : null;
}
