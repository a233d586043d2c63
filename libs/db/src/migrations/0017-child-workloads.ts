import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// Child workloads (`ctx.spawn`). A child row names its parent and its call index among the
// parent's spawns; its id is derived from the two (childWorkloadId in libs/messages), so the
// primary key alone makes a repeated spawn a no-op. `detached` children are left running when
// the parent is cancelled. No foreign key: a parent may be deleted past retention before its
// children end. The index serves a parent's children in call order (GET, cascade cancel, the
// results a resumed parent receives, and whether the children it awaits have ended). A parent
// gathering children waits durably (`workload_waits`, kind `children`, migration 0016): its open
// waits are found by `workload_waits_children_open` whenever children end and by the sweep.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table workloads
    add column parent_id uuid,
    add column child_index integer,
    add column detached boolean not null default false`.execute(db);
  await sql`create index workloads_children on workloads (parent_id, child_index)
    where parent_id is not null`.execute(db);
  await sql`create index workload_waits_children_open on workload_waits (workload_id)
    where kind = 'children' and resolved_at is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists workload_waits_children_open`.execute(db);
  await sql`drop index if exists workloads_children`.execute(db);
  await sql`alter table workloads drop column if exists parent_id,
    drop column if exists child_index, drop column if exists detached`.execute(db);
}
