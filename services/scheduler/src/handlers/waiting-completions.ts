import type { JsMsg } from '@nats-io/jetstream';
import type { Database } from '@niyanta/db';
import type { CompletionV1, WaitSpec } from '@niyanta/messages';
import type { DecodedMessage } from '@niyanta/runtime';
import type { Kysely } from 'kysely';
import type { Logger } from '../logger.js';
import type { Change } from '../workload-core/change.js';
import { FENCE, fence } from '../workload-core/decisions/fence.js';
import { waitingChange } from '../workload-core/decisions/wait.js';
import { applyChanges } from '../workload-core/statements/apply-changes.js';
import { lockWorkloads } from '../workload-core/statements/read-workloads.js';
import { recordWaits } from '../workload-core/statements/record-waits.js';
import type { StartedWait } from '../workload-core/statements/record-waits.js';
import { resolveChildrenWaits } from '../workload-core/statements/resolve-children-waits.js';
import { resolveDue } from '../workload-core/statements/resolve-waits.js';
import { takeSignals } from '../workload-core/statements/take-signals.js';
import { wakeResolved } from '../workload-core/statements/wake-waits.js';
import type { Transition } from '../workload-core/transition.js';
import { logAbandon, logDiscard } from './fence-log.js';

type Decoded = DecodedMessage<CompletionV1>;

/** What the waiting completions of a batch came to. */
export interface WaitingResult {
  transitions: Transition[];
  /** Settled: ack. */
  acks: JsMsg[];
  /** From an attempt ahead of the row: redeliver later. */
  later: JsMsg[];
}

/**
 * The `waiting` completions of a batch, in ONE transaction with their rows locked: each that the
 * fence lets through records its wait (`workload_waits`), moves its workload to WAITING (or to
 * the end a requested cancel or pause asks), then resolves what can already be resolved (a
 * signal sent before the wait started, a time already past) and wakes those whose checkpoint is
 * stored, so a wait that need not wait goes straight back to PENDING.
 */
export async function applyWaitingCompletions(
  db: Kysely<Database>,
  items: readonly Decoded[],
  log: Logger,
): Promise<WaitingResult> {
  const acks: JsMsg[] = [];
  const later: JsMsg[] = [];
  if (items.length === 0) return { transitions: [], acks, later };
  const transitions = await db.transaction().execute(async (trx) => {
    const rows = await lockWorkloads(
      trx,
      items.map((i) => i.value.workloadId),
    );
    const changes = new Map<string, Change>();
    const waits: StartedWait[] = [];
    for (const { msg, value } of items) {
      const row = rows.get(value.workloadId);
      const verdict = changes.has(value.workloadId)
        ? FENCE.discard
        : fence(row, value, msg.info.deliveryCount);
      if (verdict === FENCE.later) {
        later.push(msg);
        continue;
      }
      acks.push(msg);
      if (verdict === FENCE.abandon) {
        logAbandon(log, value, row, msg.info.deliveryCount, 'completion waiting');
        continue;
      }
      if (verdict === FENCE.discard) {
        logDiscard(log, value, row, 'completion waiting');
        continue;
      }
      if (value.wait === undefined) {
        // The schema cannot say "wait is required when waiting"; a worker always sends it.
        log.error({ workloadId: value.workloadId }, 'waiting completion without a wait; ignored');
        continue;
      }
      const c = value as CompletionV1 & { wait: WaitSpec };
      changes.set(value.workloadId, waitingChange(row!, c));
      waits.push({
        workloadId: value.workloadId,
        attempt: value.attempt,
        spec: c.wait,
        checkpointSeq: value.checkpointSeq ?? null,
      });
    }
    await recordWaits(trx, waits);
    const applied = await applyChanges(trx, [...changes.values()]);
    const ids = applied.map((t) => t.row.id);
    await takeSignals(trx, ids);
    await resolveChildrenWaits(trx, { parentIds: ids, limit: ids.length });
    await resolveDue(trx, ids.length, ids);
    const woken = await wakeResolved(trx, { ids, limit: ids.length });
    return [...applied, ...woken];
  });
  return { transitions, acks, later };
}
