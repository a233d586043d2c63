import type { Database } from '@niyanta/db';
import type { Kysely } from 'kysely';
import type { Logger } from '../logger.js';
import { publishAfterCommit } from '../workload-core/publish-after-commit.js';
import type { Bus } from '../workload-core/publish-after-commit.js';
import { resolveDue } from '../workload-core/statements/resolve-waits.js';
import { retireStaleWaits, wakeResolved } from '../workload-core/statements/wake-waits.js';

/** Waits one round resolves, wakes or retires at most (each step: more are left for the next). */
export const WAIT_ROUND_LIMIT = 1_000;

/**
 * One round of the leader's wait task: resolves waits whose time has come (sleeps, timeouts),
 * wakes the WAITING workloads whose wait is resolved and whose wait checkpoint is stored (or
 * waited on too long), and retires resolved waits no workload sleeps on any more. Timers are
 * rows, so a wait survives any restart: the next leader's first round picks up what is due.
 * Returns how many workloads it woke.
 */
export async function wakeDueWaits(
  deps: Bus & { db: Kysely<Database>; log: Logger },
  limit = WAIT_ROUND_LIMIT,
): Promise<number> {
  const { db, log } = deps;
  const { transitions, resolved, retired } = await db.transaction().execute(async (trx) => {
    const resolved = await resolveDue(trx, limit);
    const transitions = await wakeResolved(trx, { limit });
    const retired = await retireStaleWaits(trx, limit);
    return { transitions, resolved: resolved.length, retired };
  });
  if (resolved > 0 || transitions.length > 0 || retired > 0)
    log.debug({ resolved, woken: transitions.length, retired }, 'wait round');
  await publishAfterCommit(deps, transitions, log);
  return transitions.length;
}
