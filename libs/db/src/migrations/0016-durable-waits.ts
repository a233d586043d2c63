import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// Durable waits and signals. Both tables are written only by the leading scheduler (fenced like
// `workloads`).
//
// `workload_waits`: one row per wait a run started, keyed by the run's call order (`seq`, the
// n-th wait call of the run from 0), so a resumed run that calls its waits again in the same
// order is answered from here. `attempt` is the attempt that waits on it now (the workload is
// WAITING on the row whose attempt is its own); `checkpoint_seq` the checkpoint that attempt
// committed before it reported the wait (the run wakes only once it is stored). `wake_at` is when
// the wait ends by time (a sleep's end, a timeout), scanned by the leader's periodic task through
// `workload_waits_due`. `resolved_at` and `outcome` say how it ended; `spec` holds a kind's own
// condition (children). `woken_at` is set once nothing is left to do for a resolved wait (its
// workload woke, or no longer waits on it), so the leader's scan reads only resolved waits whose
// workload may still be asleep (`workload_waits_to_wake`).
//
// `workload_signals`: signals sent to a workload, kept until a wait for their name takes one
// (`taken_seq`), so a signal sent before the wait starts is not lost. Keyed by the command's
// message id: a redelivered command stores nothing twice.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table workloads drop constraint workloads_status_check`.execute(db);
  await sql`alter table workloads add constraint workloads_status_check check (status in
    ('PENDING','SCHEDULED','RUNNING','PAUSED','WAITING','COMPLETED','FAILED','CANCELLED'))`.execute(
    db,
  );
  await sql`
    create table workload_waits (
      workload_id uuid not null,
      seq integer not null check (seq >= 0),
      kind text not null,
      attempt integer not null,
      signal text,
      wake_at timestamptz,
      spec jsonb,
      checkpoint_seq integer,
      created_at timestamptz not null default now(),
      resolved_at timestamptz,
      outcome jsonb,
      woken_at timestamptz,
      primary key (workload_id, seq)
    )`.execute(db);
  await sql`create index workload_waits_due on workload_waits (wake_at)
    where resolved_at is null and wake_at is not null`.execute(db);
  await sql`create index workload_waits_to_wake on workload_waits (resolved_at)
    where resolved_at is not null and woken_at is null`.execute(db);
  await sql`
    create table workload_signals (
      workload_id uuid not null,
      id uuid not null,
      name text not null,
      payload jsonb,
      received_at timestamptz not null default now(),
      taken_seq integer,
      primary key (workload_id, id)
    )`.execute(db);
  await sql`create index workload_signals_kept on workload_signals (workload_id, name, id)
    where taken_seq is null`.execute(db);
  // A WAITING workload of an ordered key has not ended: the next one waits for it too.
  await sql`drop index workloads_ordered_open`.execute(db);
  await sql`create index workloads_ordered_open on workloads (tenant, concurrency_key, id)
    where ordered and status in ('PENDING', 'SCHEDULED', 'RUNNING', 'PAUSED', 'WAITING')`.execute(
    db,
  );
  for (const table of ['workload_waits', 'workload_signals']) {
    await sql`
      create trigger leader_fence before insert or update or delete on ${sql.table(table)}
      for each statement execute function niyanta_leader_fence()`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists workload_signals`.execute(db);
  await sql`drop table if exists workload_waits`.execute(db);
  await sql`update workloads set status = 'PENDING' where status = 'WAITING'`.execute(db);
  await sql`drop index workloads_ordered_open`.execute(db);
  await sql`create index workloads_ordered_open on workloads (tenant, concurrency_key, id)
    where ordered and status in ('PENDING', 'SCHEDULED', 'RUNNING', 'PAUSED')`.execute(db);
  await sql`alter table workloads drop constraint workloads_status_check`.execute(db);
  await sql`alter table workloads add constraint workloads_status_check check (status in
    ('PENDING','SCHEDULED','RUNNING','PAUSED','COMPLETED','FAILED','CANCELLED'))`.execute(db);
}
