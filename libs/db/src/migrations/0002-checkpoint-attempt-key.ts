import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// A checkpoint is identified by its attempt too: a late checkpoint of an old attempt committed
// while the next attempt is being placed would otherwise take a seq the new attempt then uses,
// and the new attempt's row would be silently dropped as a duplicate. "Latest" is now ordered
// by (attempt desc, seq desc).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table checkpoints drop constraint checkpoints_pk`.execute(db);
  await sql`alter table checkpoints add constraint checkpoints_pk primary key (workload_id, attempt, seq)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Keeps the newest row per (workload_id, seq) so the narrower key can be restored.
  await sql`
    delete from checkpoints c using checkpoints newer
    where newer.workload_id = c.workload_id and newer.seq = c.seq and newer.attempt > c.attempt`.execute(
    db,
  );
  await sql`alter table checkpoints drop constraint checkpoints_pk`.execute(db);
  await sql`alter table checkpoints add constraint checkpoints_pk primary key (workload_id, seq)`.execute(
    db,
  );
}
