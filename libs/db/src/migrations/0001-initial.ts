import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// Migrations take Kysely<unknown>: they must not depend on today's table types.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`insert into tenants (id, name) values ('default', 'Default tenant') on conflict do nothing`.execute(
    db,
  );

  await db.schema
    .createTable('workloads')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('tenant', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('input', 'jsonb', (c) => c.notNull())
    .addColumn('result', 'jsonb')
    .addColumn('error', 'jsonb')
    .addColumn('progress', 'jsonb')
    .addColumn('worker_id', 'text')
    .addColumn('pending_reason', 'text')
    .addColumn('labels', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('requirements', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('run_at', 'timestamptz')
    .addColumn('timeout_seconds', 'integer')
    .addColumn('idempotency_key', 'text')
    .addColumn('trace_parent', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addCheckConstraint(
      'workloads_status_check',
      sql`status in ('PENDING','SCHEDULED','RUNNING','PAUSED','COMPLETED','FAILED','CANCELLED')`,
    )
    .execute();
  // One workload per tenant and idempotency key, for good (the broker only dedupes in a window).
  await sql`create unique index workloads_tenant_idempotency_key on workloads (tenant, idempotency_key) where idempotency_key is not null`.execute(
    db,
  );
  // The queue: pending work, highest priority first, oldest (smallest UUIDv7) first.
  await sql`create index workloads_queue on workloads (priority desc, id) where status = 'PENDING'`.execute(
    db,
  );
  // Lists, newest first, optionally by status or type.
  await sql`create index workloads_tenant_id on workloads (tenant, id desc)`.execute(db);
  await sql`create index workloads_tenant_status_id on workloads (tenant, status, id desc)`.execute(
    db,
  );
  await sql`create index workloads_tenant_type_id on workloads (tenant, type, id desc)`.execute(db);
  // Active runs per worker, for redistribution when a worker dies.
  await sql`create index workloads_worker_active on workloads (worker_id) where status in ('SCHEDULED','RUNNING')`.execute(
    db,
  );

  await db.schema
    .createTable('workload_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('workload_id', 'uuid', (c) =>
      c.notNull().references('workloads.id').onDelete('cascade'),
    )
    .addColumn('from_status', 'text')
    .addColumn('to_status', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('worker_id', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('workload_events_workload')
    .on('workload_events')
    .columns(['workload_id', 'id'])
    .execute();

  await db.schema
    .createTable('workers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('capacity', 'jsonb', (c) => c.notNull())
    .addColumn('free_slots', 'integer', (c) => c.notNull())
    .addColumn('labels', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('zone', 'text')
    .addColumn('types', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('running', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('heartbeat_interval_ms', 'integer', (c) => c.notNull())
    .addColumn('last_heartbeat_at', 'timestamptz', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('dead_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('workers_status_check', sql`status in ('ACTIVE','DRAINING','DEAD')`)
    .execute();
  await db.schema.createIndex('workers_status').on('workers').columns(['status', 'id']).execute();

  await db.schema
    .createTable('checkpoints')
    .addColumn('workload_id', 'uuid', (c) =>
      c.notNull().references('workloads.id').onDelete('cascade'),
    )
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('storage', 'text', (c) => c.notNull().check(sql`storage in ('inline','blob')`))
    .addColumn('data', 'bytea')
    .addColumn('blob_key', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('checkpoints_pk', ['workload_id', 'seq'])
    .execute();

  await db.schema
    .createTable('rejected_submissions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('tenant', 'text')
    .addColumn('stream_seq', 'bigint', (c) => c.notNull())
    .addColumn('msg_id', 'text')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('errors', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('raw', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // A redelivered rejection must not be recorded twice.
  await sql`create unique index rejected_submissions_stream_seq on rejected_submissions (subject, stream_seq)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'rejected_submissions',
    'checkpoints',
    'workers',
    'workload_events',
    'workloads',
    'tenants',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
