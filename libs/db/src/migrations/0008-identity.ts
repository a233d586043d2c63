import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// The control plane of the API: tenants gain their settings (weight, quotas, rate limit,
// status), API keys are stored by public id with only a hash of their secret, and the audit log
// is an append-only hash chain (seq is assigned under an advisory lock, never by a sequence, so
// a rolled-back append leaves no gap that would read as a deleted entry). Workloads record the
// key that submitted them.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table tenants
      add column weight integer not null default 1 constraint tenants_weight_check check (weight between 1 and 1000),
      add column quotas jsonb not null default '{}'::jsonb,
      add column rate_limit jsonb,
      add column status text not null default 'active' constraint tenants_status_check check (status in ('active','disabled')),
      add column updated_at timestamptz not null default now()`.execute(db);

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) =>
      c.notNull().check(sql`role in ('admin','operator','submitter','viewer')`),
    )
    .addColumn('secret_sha256', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await sql`create index api_keys_tenant_id on api_keys (tenant, id desc)`.execute(db);

  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('tenant', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('outcome', 'integer', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await sql`create index audit_log_tenant_seq on audit_log (tenant, seq desc)`.execute(db);

  await sql`alter table workloads add column submitted_by text`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table workloads drop column if exists submitted_by`.execute(db);
  await db.schema.dropTable('audit_log').ifExists().execute();
  await db.schema.dropTable('api_keys').ifExists().execute();
  await sql`
    alter table tenants
      drop column if exists weight, drop column if exists quotas,
      drop column if exists rate_limit, drop column if exists status,
      drop column if exists updated_at`.execute(db);
}
