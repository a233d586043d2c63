import type { JsMsg } from '@nats-io/jetstream';
import type { WorkloadRow } from '@niyanta/db';
import { WORKLOAD_STATUS, envelope } from '@niyanta/messages';
import type { CommandV1 } from '@niyanta/messages';
import { REQUESTED_ACTION } from '../workload-core/change.js';
import type { CommandDecision } from '../workload-core/decisions/command.js';
import { lockCascadingChildren } from '../workload-core/statements/lock-children.js';
import type { Executor } from '../workload-core/statements/executor.js';

/** A command to apply: from the broker (`msg`, acked after the commit) or a cascade's own. */
export interface PendingCommand {
  msg?: JsMsg;
  tenant: string;
  value: CommandV1;
}

/** Whether a decided command cancels its workload (now, or through its run's end). */
export function cancels(command: CommandV1['command'], decision: CommandDecision): boolean {
  return (
    command === 'cancel' &&
    (decision.change?.to === WORKLOAD_STATUS.CANCELLED ||
      decision.request === REQUESTED_ACTION.cancel)
  );
}

/**
 * The cascade of cancels: the children of the workloads just cancelled that go with them (not
 * detached, not ended), locked, as cancel commands for the next round of the same transaction,
 * so a cancel and its cascade, down the whole tree, commit together. Their rows join `rows`.
 */
export async function cascadeCancels(
  trx: Executor,
  cancelled: readonly string[],
  rows: Map<string, WorkloadRow>,
): Promise<PendingCommand[]> {
  const children = await lockCascadingChildren(trx, cancelled);
  return children.map((row) => {
    rows.set(row.id, row);
    return {
      tenant: row.tenant,
      value: {
        ...envelope(),
        workloadId: row.id,
        command: 'cancel',
        reason: `parent ${row.parent_id!} cancelled`,
      },
    };
  });
}
