import type { JsMsg } from '@nats-io/jetstream';
import type { Database } from '@niyanta/db';
import { traceparentOf } from '@niyanta/messages';
import type { DeadLetters } from '@niyanta/runtime';
import type { Kysely } from 'kysely';
import { sendAssignments } from '../assignments.js';
import type { Logger } from '../logger.js';
import type { Parking } from '../placement/parking.js';
import type { PlacementWorker } from '../placement/place-workloads.js';
import type { TenantAdmission } from '../tenant-admission.js';
import { FENCE, NEWER_ATTEMPT_NAK_MS } from '../workload-core/decisions/fence.js';
import { childWorkloads, spawnFence } from '../workload-core/decisions/spawn.js';
import { publishAfterCommit } from '../workload-core/publish-after-commit.js';
import type { Bus } from '../workload-core/publish-after-commit.js';
import { insertSubmissions } from '../workload-core/statements/insert-submissions.js';
import type { Inserted, NewWorkload } from '../workload-core/statements/insert-submissions.js';
import { lockWorkloads } from '../workload-core/statements/read-workloads.js';
import { logAbandon, logDiscard } from './fence-log.js';
import { PLACED, placeAtIngest } from './place-at-ingest.js';
import type { Accepted } from './place-at-ingest.js';

/**
 * `scheduler-spawn`: child workloads spawned by runs (`niyanta.spawn.<parentId>`). In ONE
 * transaction the parents' rows are locked and each message fenced like a completion (only the
 * current attempt of the parent, from the worker it is placed on: `spawnFence`, which also lets
 * through the spawns of an attempt that has since reported its wait); the children of the
 * messages that pass are inserted, as workloads of their parent's tenant, by the statement ingest
 * uses, idempotent on their derived ids (a child spawned again, by a redelivery or by a resumed
 * parent calling `ctx.spawn` again in the same order, is skipped). The parent's lock orders the
 * insert against a cancel of the parent: a cancel committed first fences the spawn out, one
 * committed after sees the children and cancels them with it. Children are placed at once while
 * nothing older waits, as at ingest. They are part of their parent's admitted work: a tenant's
 * `maxPending` does not refuse them (its run quotas hold them as any work).
 */
export function createSpawnHandler(
  deps: Bus & {
    db: Kysely<Database>;
    log: Logger;
    deadLetters: DeadLetters;
    admission?: TenantAdmission;
    liveWorkers: () => readonly PlacementWorker[];
    parking: Pick<Parking, 'current' | 'parked'>;
    /** Some children were left PENDING: the placer takes them. */
    onIngested: () => void;
  },
): (msgs: JsMsg[]) => Promise<void> {
  const { db, log, ledger } = deps;
  return async (msgs) => {
    const decoded = await deps.deadLetters.decode('spawn', msgs);
    const acks: JsMsg[] = [];
    const later: JsMsg[] = [];
    let reserved: string[] = [];
    let atIngestGeneration = 0;
    const ingested = await db
      .transaction()
      .execute(async (trx): Promise<Inserted> => {
        const parents = await lockWorkloads(
          trx,
          decoded.map((d) => d.value.parentId),
        );
        const accepted: Accepted[] = [];
        const parentOf = new Map<string, NewWorkload['parent']>();
        for (const { msg, value } of decoded) {
          const row = parents.get(value.parentId);
          const verdict = spawnFence(row, value, msg.info.deliveryCount);
          const fenced = { workloadId: value.parentId, attempt: value.attempt };
          if (verdict === FENCE.later) {
            later.push(msg);
            continue;
          }
          acks.push(msg);
          if (verdict === FENCE.abandon) {
            logAbandon(log, fenced, row, msg.info.deliveryCount, 'spawn');
            continue;
          }
          if (verdict === FENCE.discard) {
            logDiscard(log, fenced, row, 'spawn');
            continue;
          }
          for (const child of childWorkloads(row!, value)) {
            accepted.push({ msg, tenant: child.tenant, submission: child.submission });
            parentOf.set(child.submission.id, child.parent);
          }
        }
        const atIngest = placeAtIngest(accepted, deps);
        reserved = [...atIngest.placements.keys()];
        atIngestGeneration = atIngest.generation;
        const items: NewWorkload[] = accepted.map(({ msg, tenant, submission }) => {
          const workerId = atIngest.placements.get(submission.id);
          const wait = workerId ? PLACED : atIngest.waiting(submission);
          return {
            tenant,
            submission,
            traceParent: traceparentOf(msg.headers) ?? null,
            workerId,
            pendingReason: wait.reason,
            parked: wait.parked,
            parent: parentOf.get(submission.id),
          };
        });
        return insertSubmissions(trx, items);
      })
      .catch((err: unknown) => {
        for (const id of reserved) ledger.cancel(id, 1);
        throw err;
      });
    // A placement whose row was not inserted (a child spawned before) holds nothing.
    const placedIds = new Set(ingested.placed.map((t) => t.row.id));
    for (const id of reserved) if (!placedIds.has(id)) ledger.cancel(id, 1);
    const parked = ingested.pending.filter((t) => t.row.parked);
    deps.parking.parked(
      atIngestGeneration,
      parked.map((t) => t.row.type),
    );
    const sending = sendAssignments(deps, ingested.placed, log);
    await publishAfterCommit(deps, [...ingested.pending, ...ingested.placed], log, {
      earlier: ingested.submitted,
      settle: () => {
        for (const m of acks) m.ack();
        for (const m of later) m.nak(NEWER_ATTEMPT_NAK_MS);
      },
    });
    await sending;
    if (log.isLevelEnabled('debug'))
      log.debug(
        { messages: msgs.length, inserted: ingested.pending.length + ingested.placed.length },
        'spawned children',
      );
    if (ingested.pending.length > parked.length) deps.onIngested();
  };
}
