import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// Cron schedules. `schedules` is control-plane state written only by the API (create, patch,
// delete); `schedule_cursors` is written only by the scheduler: per schedule, the time up to which
// its firings have been handled. A fired workload's idempotency key is
// `schedule:<schedule id>:<fire time>`; `workloads.schedule_id` is derived from it, so ingest
// needs no knowledge of schedules.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('schedules')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('cron', 'text', (c) => c.notNull())
    .addColumn('timezone', 'text', (c) => c.notNull())
    .addColumn('workload', 'jsonb', (c) => c.notNull())
    .addColumn('overlap', 'text', (c) =>
      c.notNull().check(sql`overlap in ('skip', 'allow', 'cancelPrevious')`),
    )
    .addColumn('catch_up', 'integer', (c) => c.notNull().check(sql`catch_up between 0 and 100`))
    .addColumn('paused', 'boolean', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('schedules_tenant_name', ['tenant', 'name'])
    .execute();
  await db.schema
    .createTable('schedule_cursors')
    .addColumn('schedule_id', 'uuid', (c) => c.primaryKey())
    .addColumn('handled_until', 'timestamptz', (c) => c.notNull())
    .addColumn('next_fire_at', 'timestamptz')
    .addColumn('last_fire_at', 'timestamptz')
    // The schedule's updated_at when the cursor was written: a newer one (PATCH) is looked at again.
    .addColumn('seen_updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`create index schedule_cursors_next on schedule_cursors (next_fire_at)`.execute(db);
  await sql`
    alter table workloads add column schedule_id text generated always as (
      case when idempotency_key ~ '^schedule:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:'
        then substr(idempotency_key, 10, 36) end
    ) stored`.execute(db);
  await sql`create index workloads_schedule on workloads (tenant, schedule_id, id)
    where schedule_id is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists workloads_schedule`.execute(db);
  await sql`alter table workloads drop column if exists schedule_id`.execute(db);
  await db.schema.dropTable('schedule_cursors').ifExists().execute();
  await db.schema.dropTable('schedules').ifExists().execute();
}
