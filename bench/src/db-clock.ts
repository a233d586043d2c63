import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * PostgreSQL's clock minus ours, in ms (best of a few round trips). Timestamps the database
 * wrote (created_at, started_at, finished_at) minus this offset are on our clock, so they
 * compare with the moments we submitted — exact on one machine, close across machines.
 */
export async function databaseClockOffsetMs(db: Kysely<Database>): Promise<number> {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 5; i++) {
    const before = performance.timeOrigin + performance.now();
    const { rows } = await sql<{
      ms: number;
    }>`select extract(epoch from clock_timestamp()) * 1000 as ms`.execute(db);
    const after = performance.timeOrigin + performance.now();
    const rtt = after - before;
    if (rtt < best.rtt) best = { rtt, offset: Number(rows[0]!.ms) - (before + after) / 2 };
  }
  return best.offset;
}

/** The current time in ms with sub-ms precision, on the same clock as `Date.now()`. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The smallest UUIDv7 of millisecond `ms`: ids made from then on sort at or above it. */
export function uuidv7Floor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}
