import { sql } from 'kysely';
import { BLOCKED_REASON_TEMPLATES } from '../../blocked-types.js';
import type { TypeAvailability } from '../../blocked-types.js';
import type { Executor } from './executor.js';

/**
 * `blockedTypeWrite` for up to `limit` queued PENDING workloads whose type no live worker with a
 * free slot handles (the placement query skips them), in one statement; rows another transaction
 * holds are skipped. Ingest inserts such rows with the same reason already, so in a burst that
 * fills every slot this finds nothing to rewrite. Returns the types it parked.
 */
export async function explainBlockedTypes(
  db: Executor,
  availability: Pick<TypeAvailability, 'live' | 'open'>,
  limit: number,
): Promise<string[]> {
  const live = [...availability.live];
  const { rows } = await sql<{ type: string }>`
    with stale as (
      select w.id, r.reason, r.parked
      from workloads w cross join lateral (
        select w.type = any(${live}::text[]) as handled
      ) h cross join lateral (
        select case when h.handled
          then format(${BLOCKED_REASON_TEMPLATES.full}::text, w.type)
          else format(${BLOCKED_REASON_TEMPLATES.unhandled}::text, w.type) end as reason,
          not h.handled as parked
      ) r
      where w.status = 'PENDING' and not w.parked
        and not (w.type = any(${[...availability.open]}::text[]))
        and (r.parked or (w.pending_reason is distinct from r.reason
          and w.pending_reason is distinct from format(${BLOCKED_REASON_TEMPLATES.queued}::text, w.type)))
      limit ${limit}
      for update of w skip locked
    ), u as (
      update workloads w set pending_reason = s.reason, parked = s.parked, updated_at = now()
      from stale s where w.id = s.id
      returning w.type, w.parked
    )
    select distinct type from u where parked`.execute(db);
  return rows.map((r) => r.type);
}
