import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// last_heartbeat_at is the worker's own clock (it orders a worker's beats); liveness must not
// depend on it: a worker whose clock lags would look silent. heard_at is when the health
// monitor received the latest beat, by the database's clock.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table workers add column heard_at timestamptz not null default now()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table workers drop column heard_at`.execute(db);
}
