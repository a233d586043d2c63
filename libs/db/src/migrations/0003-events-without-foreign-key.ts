import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// workload_events is the hottest insert (about four rows per workload), and its foreign key made
// every row look up and share-lock its workload. Its only writer (the scheduler) inserts events in
// the same transaction as the workload change they record, and workloads are never deleted, so
// the constraint guarded nothing the writer does not already guarantee.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table workload_events drop constraint if exists workload_events_workload_id_fkey`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table workload_events add constraint workload_events_workload_id_fkey
    foreign key (workload_id) references workloads (id) on delete cascade`.execute(db);
}
