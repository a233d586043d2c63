import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// Messages a consumer gave up on: one that does not decode (recorded at once) or whose handling
// kept failing for MAX_DELIVER deliveries. Each consuming service writes the rows of its own
// consumers (the scheduler also those of the worker, which has no database). The raw body is kept
// byte-exact; the texts are escaped so that PostgreSQL can store them.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('dead_letters')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('consumer', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('stream_seq', 'bigint', (c) => c.notNull())
    .addColumn('msg_id', 'text')
    .addColumn('tenant', 'text')
    .addColumn('headers', 'jsonb')
    .addColumn('data', 'bytea', (c) => c.notNull())
    .addColumn('error', 'text', (c) => c.notNull())
    .addColumn('deliveries', 'integer', (c) => c.notNull())
    .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Recording the same message again (a redelivery after a crash) updates its row.
    .addUniqueConstraint('dead_letters_consumer_stream_seq', ['consumer', 'stream_seq'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('dead_letters').ifExists().execute();
}
