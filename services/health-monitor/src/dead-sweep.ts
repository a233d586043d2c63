import type { Database } from '@niyanta/db';
import { publishAll } from '@niyanta/messages';
import type { Logger } from '@niyanta/runtime';
import type { Kysely } from 'kysely';
import { workerDeadMessage } from './announce.js';
import { deleteLongDead, findSilentWorkers, markDead } from './workers-store.js';

/**
 * One sweep: announces every live worker silent past the timeout, then marks it DEAD, then
 * deletes workers dead for longer than the retention. Announcing before marking means a failed
 * publish or a crash leaves the worker a candidate for the next sweep, so no death goes unsaid.
 */
export async function sweepOnce(deps: {
  db: Kysely<Database>;
  js: Parameters<typeof publishAll>[0];
  log: Logger;
  timeoutMs: number;
  retentionHours: number;
}): Promise<{ declaredDead: string[]; deleted: number }> {
  const { db, log } = deps;
  const silent = await findSilentWorkers(db, deps.timeoutMs);
  let declaredDead: string[] = [];
  if (silent.length > 0) {
    await publishAll(
      deps.js,
      silent.map((w) =>
        workerDeadMessage(w.id, w.lastHeartbeatAt, `no heartbeat for ${w.silentMs} ms`),
      ),
    );
    declaredDead = await markDead(
      db,
      silent.map((w) => w.id),
    );
    for (const w of silent) {
      log.warn(
        { workerId: w.id, lastHeartbeatAt: w.lastHeartbeatAt, silentMs: w.silentMs },
        'worker declared dead',
      );
    }
  }
  const deleted = await deleteLongDead(db, deps.retentionHours);
  if (deleted > 0)
    log.info({ deleted, retentionHours: deps.retentionHours }, 'long-dead workers deleted');
  return { declaredDead, deleted };
}
