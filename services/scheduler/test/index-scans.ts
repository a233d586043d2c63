import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * How many scans PostgreSQL has counted of `index`, this backend's own included: give it a pool
 * of one connection, whose pending statistics are flushed first.
 */
export async function indexScans(db: Kysely<Database>, index: string): Promise<number> {
  await sql`select pg_stat_force_next_flush()`.execute(db);
  const { rows } = await sql<{ scans: string }>`select idx_scan as scans
    from pg_stat_user_indexes where indexrelname = ${index}`.execute(db);
  return Number(rows[0]!.scans);
}
