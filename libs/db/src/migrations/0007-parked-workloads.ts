import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// A PENDING workload that no live worker could ever take (no live worker handles its type, or none
// offers all of its cpu, memoryMb and gpu in its whole capacity) is parked: left out of the queue
// index that placement reads, so that any number of them costs a placement cycle nothing. The
// scheduler finds parked rows again by type (`workloads_parked`) when a worker joins or grows.
// Parking means something only while a workload is PENDING, which the check enforces: every other
// status leaves it false.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table workloads add column parked boolean not null default false,
      add constraint workloads_parked_pending_check check (not parked or status = 'PENDING')`.execute(
    db,
  );
  await sql`drop index workloads_queue`.execute(db);
  await sql`create index workloads_queue on workloads (priority desc, id)
    where status = 'PENDING' and not parked`.execute(db);
  await sql`create index workloads_parked on workloads (type, id)
    where status = 'PENDING' and parked`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists workloads_parked`.execute(db);
  await sql`drop index if exists workloads_queue`.execute(db);
  await sql`create index workloads_queue on workloads (priority desc, id)
    where status = 'PENDING'`.execute(db);
  await sql`alter table workloads drop column if exists parked`.execute(db);
}
