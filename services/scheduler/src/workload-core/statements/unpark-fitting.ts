import { sql } from 'kysely';
import type { RawBuilder } from 'kysely';
import type { Offer } from '../../placement/fit.js';
import type { Executor } from './executor.js';

/** Parked rows one un-park statement reads at most. */
export const UNPARK_SCAN_ROWS = 5_000;

/**
 * The fit rule (`holds` in fit.ts) in SQL, for the workloads row `w`: some offer holds what it
 * needs, a missing resource counting as 0. Requirements are JSON numbers, compared as float8 like
 * JavaScript compares them.
 */
export function fitsAnOffer(offers: readonly Offer[]): RawBuilder<boolean> {
  return sql<boolean>`exists (
    select 1 from jsonb_to_recordset(${JSON.stringify(offers)}::jsonb)
      as o(cpu float8, "memoryMb" float8, gpu float8)
    where coalesce((w.requirements->>'cpu')::float8, 0) <= o.cpu
      and coalesce((w.requirements->>'memoryMb')::float8, 0) <= o."memoryMb"
      and coalesce((w.requirements->>'gpu')::float8, 0) <= o.gpu)`;
}

/** What one un-park statement did. */
export interface UnparkStep {
  /** Parked rows it read (at most {@link UNPARK_SCAN_ROWS}). */
  scanned: number;
  /** The largest id it read: the next statement goes on after it. */
  last: string | null;
  unparked: number;
}

/**
 * Un-parks the parked workloads of `type` that `unparks` brings back with `offers`, reading at
 * most `limit` parked rows of the type in id order after `after`: one bounded statement through
 * the partial index `workloads_parked` (which leaves out rows waiting on dependencies). Un-parked rows have no pending reason (the placer gives
 * one if it cannot place them).
 */
export async function unparkFitting(
  db: Executor,
  type: string,
  offers: readonly Offer[],
  after: string | null,
  limit: number = UNPARK_SCAN_ROWS,
): Promise<UnparkStep> {
  const { rows } = await sql<UnparkStep>`
    with scanned as (
      select id from workloads
      where status = 'PENDING' and parked and deps_waiting = 0 and type = ${type}
        and id > coalesce(${after}::uuid, '00000000-0000-0000-0000-000000000000'::uuid)
      order by id
      limit ${limit}
    ), u as (
      update workloads w set parked = false, pending_reason = null, updated_at = now()
      from scanned s
      where w.id = s.id and w.status = 'PENDING' and w.parked and w.deps_waiting = 0
        and ${fitsAnOffer(offers)}
      returning w.id
    )
    select (select count(*) from scanned)::int as scanned,
      (select max(id::text) from scanned) as last,
      (select count(*) from u)::int as unparked`.execute(db);
  return rows[0]!;
}
