import type { Database } from '@niyanta/db';
import { buildEach, publishEach } from '@niyanta/messages';
import type { Logger } from '@niyanta/runtime';
import type { Kysely } from 'kysely';
import { workerDeadMessage } from './announce.js';
import { deleteLongDead, findSilentWorkers, markDead } from './workers-store.js';
import type { SilentWorker } from './workers-store.js';
import { observeDeath } from './heartbeat-metrics.js';

/** The sweep's dependencies. */
export interface SweepDeps {
  db: Kysely<Database>;
  js: Parameters<typeof publishEach>[0];
  log: Logger;
  timeoutMs: number;
  retentionHours: number;
}

/**
 * One sweep: declares silent workers dead, then deletes workers dead for longer than the
 * retention. The two steps run apart: one failing (and logged) does not keep the other from
 * running.
 */
export async function sweepOnce(
  deps: SweepDeps,
): Promise<{ declaredDead: string[]; deleted: number }> {
  const { log } = deps;
  let declaredDead: string[] = [];
  try {
    declaredDead = await declareSilentDead(deps);
  } catch (err) {
    log.error({ err }, 'declaring silent workers dead failed; the next sweep tries again');
  }
  let deleted = 0;
  try {
    deleted = await deleteLongDead(deps.db, deps.retentionHours);
    if (deleted > 0)
      log.info({ deleted, retentionHours: deps.retentionHours }, 'long-dead workers deleted');
  } catch (err) {
    log.error({ err }, 'deleting long-dead workers failed; the next sweep tries again');
  }
  return { declaredDead, deleted };
}

/**
 * Announces every live worker silent past the timeout, then marks it DEAD; returns the ids it
 * marked. Announcing before marking means a failed publish or a crash leaves the worker a
 * candidate for the next sweep, so no death goes unsaid. Each worker stands alone: one whose
 * announcement the broker refuses stays a candidate, the others go on. A worker whose id cannot
 * be a subject token (a row stored before ids were checked) is marked DEAD unannounced: it has
 * no subject to be announced on, and it can hold no assignment (their subjects name the worker).
 */
export async function declareSilentDead(deps: SweepDeps): Promise<string[]> {
  const { db, log } = deps;
  const silent = await findSilentWorkers(db, deps.timeoutMs);
  if (silent.length === 0) return [];
  const { built, failed } = buildEach(silent, (w) =>
    workerDeadMessage(w.id, w.lastHeartbeatAt, `no heartbeat for ${w.silentMs} ms`),
  );
  for (const { item, error } of failed) {
    log.error(
      { workerId: item.id, err: error },
      'silent worker cannot be announced dead (its id is not a subject token); marking it DEAD unannounced',
    );
  }
  const results = await publishEach(
    deps.js,
    built.map((b) => b.value),
  );
  const toMark: SilentWorker[] = failed.map((f) => f.item);
  results.forEach((result, i) => {
    const w = built[i]!.item;
    if (result.ok) toMark.push(w);
    else
      log.error(
        { workerId: w.id, err: result.error },
        'worker death not announced; it stays a candidate for the next sweep',
      );
  });
  const declaredDead = await markDead(
    db,
    toMark.map((w) => w.id),
  );
  const marked = new Set(declaredDead);
  for (const w of toMark) {
    if (!marked.has(w.id)) continue;
    observeDeath(w.id);
    log.warn(
      { workerId: w.id, lastHeartbeatAt: w.lastHeartbeatAt, silentMs: w.silentMs },
      'worker declared dead',
    );
  }
  return declaredDead;
}
