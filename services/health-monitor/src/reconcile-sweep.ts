import type { JetStreamManager } from '@nats-io/jetstream';
import type { Database } from '@niyanta/db';
import {
  buildEach,
  isSubjectToken,
  isUuid,
  publishEach,
  STREAMS,
  SUBJECTS,
} from '@niyanta/messages';
import type { Outgoing } from '@niyanta/messages';
import type { Logger } from '@niyanta/runtime';
import type { Kysely } from 'kysely';
import { attemptsLostMessage, stopRunMessage } from './announce.js';
import type { Findings, LostAttempt, Reconciler, StaleRun } from './reconcile.js';
import { loadActiveWorkloads, loadCurrentAttempts, loadWorkerRuns } from './reconcile-store.js';

/**
 * Whether a completion of the workload waits in the broker. A worker drops a run from its
 * heartbeats only once its completion is acked by the broker: a run missing from the heartbeats
 * while its completion waits for the scheduler (busy, restarting) has ended, it is not lost.
 */
export async function completionPending(
  jsm: JetStreamManager,
  workloadId: string,
): Promise<boolean> {
  const m = await jsm.streams.getMessage(STREAMS.complete.name, {
    last_by_subj: SUBJECTS.complete(workloadId),
  });
  return m !== null;
}

/**
 * Whether a `completion-batch` of the worker still waits in the broker (NIYANTA_COMPLETE is a
 * work queue: a message the scheduler has not acked is still there). Which attempts it carries is
 * not looked at: any waiting batch of the worker may hold this attempt's completion, so the
 * attempt is not reported lost yet. Conservative: it can delay a report, never make a false one.
 */
export async function completionBatchPending(
  jsm: JetStreamManager,
  workerId: string,
): Promise<boolean> {
  if (!isSubjectToken(workerId)) return false;
  const m = await jsm.streams.getMessage(STREAMS.complete.name, {
    last_by_subj: SUBJECTS.completions(workerId),
  });
  return m !== null;
}

/**
 * One reconciliation round: reads workers and workloads, reports lost attempts to the scheduler
 * (on `niyanta.worker.dead.<workerId>` with `attempts`) and tells workers to stop runs that are no
 * longer current (on `niyanta.control.<workerId>`). Each finding stands alone: one whose lookup
 * fails, whose message cannot be built (a worker id stored before ids were checked) or that the
 * broker refuses is logged and left for a later round; the others go out. Returns what was
 * published.
 */
export async function reconcileOnce(deps: {
  db: Kysely<Database>;
  js: Parameters<typeof publishEach>[0];
  jsm: JetStreamManager;
  reconciler: Reconciler;
  log: Logger;
  now?: () => number;
}): Promise<Findings> {
  const { db, log } = deps;
  const now = deps.now ?? Date.now;
  const [workers, active] = await Promise.all([loadWorkerRuns(db), loadActiveWorkloads(db)]);
  const listed = workers.flatMap((w) =>
    w.running.map((r) => r.workloadId).filter((id) => isUuid(id)),
  );
  const current = await loadCurrentAttempts(db, listed);
  const found = deps.reconciler.round({ nowMs: now(), workers, active, current });

  const lost: LostAttempt[] = [];
  // One lookup per worker per round, however many of its attempts are missing.
  const batches = new Map<string, Promise<boolean>>();
  const batchPending = (workerId: string): Promise<boolean> => {
    let p = batches.get(workerId);
    if (p === undefined) batches.set(workerId, (p = completionBatchPending(deps.jsm, workerId)));
    return p;
  };
  for (const l of found.lost) {
    let pending: boolean;
    try {
      pending =
        (await batchPending(l.workerId)) || (await completionPending(deps.jsm, l.workloadId));
    } catch (err) {
      log.error(
        { err, workerId: l.workerId, workloadId: l.workloadId, attempt: l.attempt },
        'could not look for a waiting completion; the attempt is not reported lost this round',
      );
      continue;
    }
    if (pending) {
      log.debug(
        { workloadId: l.workloadId, attempt: l.attempt },
        'run missing from heartbeats has a completion waiting; not lost',
      );
      continue;
    }
    lost.push(l);
  }

  type Finding = { lost: LostAttempt } | { stale: StaleRun };
  const { built, failed } = buildEach<Finding, Outgoing>(
    [...lost.map((l) => ({ lost: l })), ...found.stale.map((s) => ({ stale: s }))],
    (f) =>
      'lost' in f
        ? attemptsLostMessage(f.lost.workerId, [f.lost], f.lost.reason)
        : stopRunMessage(f.stale.workerId, f.stale.workloadId, f.stale.attempt, f.stale.reason),
  );
  const results = await publishEach(
    deps.js,
    built.map((b) => b.value),
  );
  const published: Findings = { lost: [], stale: [] };
  const unsayable: Findings = { lost: [], stale: [] };
  const add = (to: Findings, f: Finding) =>
    'lost' in f ? to.lost.push(f.lost) : to.stale.push(f.stale);
  results.forEach((result, i) => {
    const f = built[i]!.item;
    if (result.ok) {
      add(published, f);
      return;
    }
    log.error(
      { err: result.error, ...('lost' in f ? f.lost : f.stale) },
      'reconciliation finding not published; a later round reports it again',
    );
  });
  for (const { item, error } of failed) {
    add(unsayable, item);
    log.error(
      { err: error, ...('lost' in item ? item.lost : item.stale) },
      'reconciliation finding has no subject to go on (the worker id is not a subject token); skipped',
    );
  }
  // A finding that cannot be said is logged again only when it would be reported again.
  deps.reconciler.reported(
    {
      lost: [...published.lost, ...unsayable.lost],
      stale: [...published.stale, ...unsayable.stale],
    },
    now(),
  );
  for (const l of published.lost) log.warn({ ...l }, 'attempt lost; reported to the scheduler');
  for (const s of published.stale)
    log.info({ ...s }, 'run no longer current; worker told to stop it');
  return published;
}
