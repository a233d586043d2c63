import { createDb, migrateDb, MIGRATIONS } from '@niyanta/db';
import { createTestDatabase } from '@niyanta/testing';
import { sql } from 'kysely';

describe('migrations', () => {
  it('are applied once and running them again changes nothing', async () => {
    await using database = await createTestDatabase(); // cloned from a migrated template
    const db = createDb(database.url, { max: 2 });
    try {
      expect(await migrateDb(db)).toEqual([]);
      const applied = await sql<{
        name: string;
      }>`select name from kysely_migration order by name`.execute(db);
      expect(applied.rows.map((r) => r.name)).toEqual(Object.keys(MIGRATIONS));
      // Two concurrent runs (two services starting at once) both succeed.
      await expect(Promise.all([migrateDb(db), migrateDb(db)])).resolves.toEqual([[], []]);
    } finally {
      await db.destroy();
    }
  });

  it('creates the default tenant, the queue and list indexes, and no foreign key on events', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 2 });
    try {
      const tenants = await db.selectFrom('tenants').select('id').execute();
      expect(tenants.map((t) => t.id)).toContain('default');
      const indexes = await sql<{ indexname: string }>`
        select indexname from pg_indexes where tablename = 'workloads'`.execute(db);
      expect(indexes.rows.map((r) => r.indexname)).toEqual(
        expect.arrayContaining([
          'workloads_queue',
          'workloads_tenant_idempotency_key',
          'workloads_tenant_id',
          'workloads_tenant_status_id',
          'workloads_tenant_type_id',
        ]),
      );
      const fks = await sql<{ conname: string }>`
        select conname from pg_constraint
        where conrelid = 'workload_events'::regclass and contype = 'f'`.execute(db);
      expect(fks.rows).toEqual([]);
    } finally {
      await db.destroy();
    }
  });
});

describe('0004 requested_action', () => {
  it('holds only cancel or pause, and only on an active run', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 2 });
    try {
      const insert = (status: string, action: string | null) =>
        sql`
          insert into workloads (id, tenant, type, status, priority, max_attempts, input, requested_action)
          values (gen_random_uuid(), 'default', 't', ${status}, 500, 1, '{}', ${action})`.execute(
          db,
        );
      await expect(insert('RUNNING', 'cancel')).resolves.toBeDefined();
      await expect(insert('SCHEDULED', 'pause')).resolves.toBeDefined();
      await expect(insert('PENDING', null)).resolves.toBeDefined();
      await expect(insert('RUNNING', 'stop')).rejects.toThrow(/workloads_requested_action_check/);
      await expect(insert('PENDING', 'cancel')).rejects.toThrow(
        /workloads_requested_action_active_check/,
      );
    } finally {
      await db.destroy();
    }
  });
});

describe('0007 parked', () => {
  it('parks only PENDING rows, and keeps parked rows out of the queue index', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 2 });
    try {
      const insert = (status: string, parked: boolean) =>
        sql`
          insert into workloads (id, tenant, type, status, priority, max_attempts, input, parked)
          values (gen_random_uuid(), 'default', 't', ${status}, 500, 1, '{}', ${parked})`.execute(
          db,
        );
      await expect(insert('PENDING', true)).resolves.toBeDefined();
      await expect(insert('PENDING', false)).resolves.toBeDefined();
      await expect(insert('COMPLETED', true)).rejects.toThrow(/workloads_parked_pending_check/);
      const { rows } = await sql<{ indexname: string; indexdef: string }>`
        select indexname, indexdef from pg_indexes
        where indexname in ('workloads_queue', 'workloads_parked') order by indexname`.execute(db);
      expect(rows.map((r) => [r.indexname, r.indexdef.replace(/^.* WHERE /, '')])).toEqual([
        // 0015: a workload waiting on dependencies is parked, and no fleet change releases it.
        ['workloads_parked', "((status = 'PENDING'::text) AND parked AND (deps_waiting = 0))"],
        ['workloads_queue', "((status = 'PENDING'::text) AND (NOT parked))"],
      ]);
    } finally {
      await db.destroy();
    }
  });
});
