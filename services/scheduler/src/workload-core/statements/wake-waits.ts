import type { WorkloadRow } from '@niyanta/db';
import { sql } from 'kysely';
import type { WaitRow } from '../decisions/wait.js';
import { wakeChange } from '../decisions/wait.js';
import type { Transition } from '../transition.js';
import { applyChanges } from './apply-changes.js';
import type { Executor } from './executor.js';

/**
 * How long a resolved wait waits for the checkpoint its attempt committed before reporting it:
 * normally milliseconds (the checkpoint service stores it); past this the run wakes without it
 * (from the latest checkpoint stored) rather than sleep forever on a checkpoint that never came.
 */
export const WAKE_CHECKPOINT_GRACE_MS = 60_000;

type Wakeable = WorkloadRow & Pick<WaitRow, 'seq' | 'kind' | 'signal' | 'outcome'>;

/**
 * Wakes WAITING workloads whose current wait (the one their attempt waits on) is resolved and
 * whose wait checkpoint is stored: back to PENDING (decisions/wait.ts `wakeChange`), the wait
 * marked woken. `ids` limits it to these workloads (rows the caller has locked); without it, up
 * to `limit` of any, skipping rows another transaction holds. Returns the transitions.
 */
export async function wakeResolved(
  trx: Executor,
  opts: { ids?: readonly string[]; limit: number },
): Promise<Transition[]> {
  const { ids, limit } = opts;
  if (ids !== undefined && ids.length === 0) return [];
  const { rows } = await sql<Wakeable>`
    select w.*, ww.seq, ww.kind, ww.signal, ww.outcome
    from workload_waits ww
    join workloads w on w.id = ww.workload_id and w.attempt = ww.attempt
    where ww.resolved_at is not null and ww.woken_at is null
      and w.status = 'WAITING'
      ${ids === undefined ? sql`` : sql`and ww.workload_id = any(${[...new Set(ids)]}::uuid[])`}
      and (ww.checkpoint_seq is null
        or ww.resolved_at < now() - ${WAKE_CHECKPOINT_GRACE_MS} * interval '1 millisecond'
        or exists (select 1 from checkpoints c
          where c.workload_id = ww.workload_id and c.attempt = ww.attempt
            and c.seq = ww.checkpoint_seq))
    order by w.id
    limit ${limit}
    for update of w, ww ${ids === undefined ? sql`skip locked` : sql``}`.execute(trx);
  if (rows.length === 0) return [];
  const applied = await applyChanges(
    trx,
    rows.map((r) => wakeChange(r, r)),
  );
  await markWoken(
    trx,
    rows.filter((r) => applied.some((t) => t.row.id === r.id)).map((r) => [r.id, r.seq]),
  );
  return applied;
}

/**
 * Marks resolved waits that no workload sleeps on any more (it was paused, cancelled, ended, or
 * a newer attempt runs) as woken, at most `limit`: a resumed run replays them from their outcome,
 * and the wake scan need not read them again.
 */
export async function retireStaleWaits(trx: Executor, limit: number): Promise<number> {
  const { rows } = await sql<{ workload_id: string }>`
    with stale as (
      select ww.workload_id, ww.seq from workload_waits ww
      where ww.resolved_at is not null and ww.woken_at is null
        and not exists (select 1 from workloads w
          where w.id = ww.workload_id and w.attempt = ww.attempt and w.status = 'WAITING')
      order by ww.resolved_at
      limit ${limit}
      for update of ww skip locked
    )
    update workload_waits ww set woken_at = now()
    from stale where ww.workload_id = stale.workload_id and ww.seq = stale.seq
    returning ww.workload_id`.execute(trx);
  return rows.length;
}

async function markWoken(trx: Executor, waits: readonly [string, number][]): Promise<void> {
  if (waits.length === 0) return;
  await sql`
    update workload_waits ww set woken_at = now()
    from jsonb_to_recordset(${JSON.stringify(waits.map(([id, seq]) => ({ id, seq })))}::jsonb)
      as v(id uuid, seq int)
    where ww.workload_id = v.id and ww.seq = v.seq`.execute(trx);
}
