import { WORKLOAD_STATUS } from '@niyanta/messages';
import { sql } from 'kysely';
import { unplacedWrite } from '../decisions/pending-reason.js';
import type { PendingWrite } from '../decisions/pending-reason.js';
import type { Executor } from './executor.js';

/**
 * Records why workloads the placer read were left PENDING, and parks those no live worker could
 * ever take (`unplacedWrite`), in one statement. `read` holds each row as the queue read it
 * (PENDING and not parked, locked by this transaction); only rows whose reason or parking
 * changes are written, and only while still PENDING.
 */
export async function recordUnplaced(
  trx: Executor,
  unplaced: readonly (PendingWrite & { workloadId: string })[],
  read: ReadonlyMap<string, { pending_reason: string | null }>,
): Promise<void> {
  const changed = unplaced.filter((u) =>
    unplacedWrite(
      {
        status: WORKLOAD_STATUS.PENDING,
        parked: false,
        pending_reason: read.get(u.workloadId)!.pending_reason,
      },
      u,
    ),
  );
  if (changed.length === 0) return;
  await sql`
    update workloads w set pending_reason = v.reason, parked = v.parked, updated_at = now()
    from jsonb_to_recordset(${JSON.stringify(
      changed.map((u) => ({ id: u.workloadId, reason: u.reason, parked: u.parked })),
    )}::jsonb) as v(id uuid, reason text, parked boolean)
    where w.id = v.id and w.status = 'PENDING'
      and w.id = any(${changed.map((u) => u.workloadId)}::uuid[])`.execute(trx);
}
