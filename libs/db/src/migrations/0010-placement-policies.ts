import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// Placement policies (docs/scheduling.md). Workers carry their taints, cost and spot flag from
// their heartbeats (written by the health monitor); a workload carries its `placement` terms.
// `placement_explanations` is the scheduler's latest evaluation of a workload (why it waits, or
// the decision that placed it), one row per workload, bounded in size (the 50 best workers and
// counts per reason): the API reads it and never runs placement itself. It goes with its workload.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table workers add column taints jsonb not null default '[]',
    add column cost_per_hour double precision,
    add column spot boolean not null default false`.execute(db);
  await sql`alter table workloads add column placement jsonb`.execute(db);
  await sql`create table placement_explanations (
    workload_id uuid primary key references workloads (id) on delete cascade,
    status text not null check (status in ('PENDING', 'PLACED')),
    evaluated_at timestamptz not null,
    pending_reason text,
    worker_id text,
    explanation jsonb not null
  )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists placement_explanations`.execute(db);
  await sql`alter table workloads drop column if exists placement`.execute(db);
  await sql`alter table workers drop column if exists taints, drop column if exists cost_per_hour,
    drop column if exists spot`.execute(db);
}
