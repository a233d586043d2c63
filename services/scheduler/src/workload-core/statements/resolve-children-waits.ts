import { FINAL_STATUSES, WAIT_KINDS } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Executor } from './executor.js';

/** What a children wait answers the run when it ends (the results travel in the assignment). */
export const CHILDREN_ENDED = { value: { childrenEnded: true } } as const;

/**
 * How long a children wait stays open for a child it names that has no row: past this, the child
 * counts as ended (the SDK's `result()` then throws `ChildWorkloadError` with code `CHILD_GONE`).
 * Retention never deletes a child of a parent that has not ended, so a row missing this long is
 * one removed by hand or never recorded; a spawn on its way arrives well within it.
 */
export const CHILD_GONE_AFTER_MS = 60 * 60 * 1000;

/**
 * Resolves the open `children` waits (of `parentIds`, or any, at most `limit`) whose awaited
 * children have ALL ended: each awaited call index (the spec's inclusive `ranges`, as the SDK
 * writes them) has a child row, and it is COMPLETED, FAILED or CANCELLED. A child the wait names
 * that is not in PostgreSQL (its spawn still on its way) keeps the wait open for
 * CHILD_GONE_AFTER_MS from the wait's creation, then counts as ended (gone). The ended
 * children are counted through `workloads_children`; the open waits are found through
 * `workload_waits_children_open`, in workload order after `after` (a sweep's cursor). Returns the
 * parents whose wait it resolved (wake them with `wakeResolved`) and the last parent it looked at.
 */
export async function resolveChildrenWaits(
  trx: Executor,
  opts: { parentIds?: readonly string[]; after?: string; limit: number },
): Promise<{ resolved: string[]; lastLooked: string | undefined }> {
  const { parentIds, after, limit } = opts;
  if (parentIds !== undefined && parentIds.length === 0)
    return { resolved: [], lastLooked: undefined };
  const { rows } = await sql<{ resolved: string[] | null; last_looked: string | null }>`
    with open as (
      select ww.workload_id, ww.seq, ww.spec,
        ww.created_at < now() - ${CHILD_GONE_AFTER_MS}::int * interval '1 millisecond' as gone_ok
      from workload_waits ww
      where ww.kind = ${WAIT_KINDS.children} and ww.resolved_at is null
        ${parentIds === undefined ? sql`` : sql`and ww.workload_id = any(${[...new Set(parentIds)]}::uuid[])`}
        ${after === undefined ? sql`` : sql`and ww.workload_id > ${after}::uuid`}
      order by ww.workload_id
      limit ${limit}
      for update ${parentIds === undefined ? sql`skip locked` : sql``}
    ), ranges as (
      select o.workload_id, o.seq, o.gone_ok, (r->>1)::int - (r->>0)::int + 1 as awaited, c.*
      from open o cross join lateral jsonb_array_elements(o.spec->'ranges') as r
      cross join lateral (
        select count(*) as present,
          count(*) filter (where c.status = any(${FINAL_STATUSES}::text[])) as ended
        from workloads c
        where c.parent_id = o.workload_id
          and c.child_index between (r->>0)::int and (r->>1)::int) as c
    ), done as (
      select workload_id, seq from ranges
      group by workload_id, seq
      having sum(awaited) = sum(ended)
        + case when bool_and(gone_ok) then sum(awaited) - sum(present) else 0 end
    ), resolved as (
      update workload_waits ww set resolved_at = now(),
        outcome = ${JSON.stringify(CHILDREN_ENDED)}::jsonb
      from done
      where ww.workload_id = done.workload_id and ww.seq = done.seq and ww.resolved_at is null
      returning ww.workload_id
    )
    select (select array_agg(workload_id::text) from resolved) as resolved,
      (select workload_id::text from open order by workload_id desc limit 1) as last_looked`.execute(
    trx,
  );
  const row = rows[0];
  return { resolved: row?.resolved ?? [], lastLooked: row?.last_looked ?? undefined };
}
