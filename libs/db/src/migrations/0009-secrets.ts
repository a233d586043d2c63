import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// Secrets of a tenant, sealed with AES-256-GCM under a key of SECRETS_KEY named by key_id: the
// plaintext is never stored. Workloads record the names of the secrets they use (never values).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('secrets')
    .addColumn('tenant', 'text', (c) => c.notNull().references('tenants.id'))
    .addColumn('name', 'text', (c) =>
      c.notNull().check(sql`name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$'`),
    )
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('secrets_pkey', ['tenant', 'name'])
    .execute();
  await sql`alter table workloads add column secrets text[] not null default '{}'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table workloads drop column if exists secrets`.execute(db);
  await db.schema.dropTable('secrets').ifExists().execute();
}
