import pg from 'pg';
import { createTestDatabase, TEST_PG_ENV } from '@niyanta/testing';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const adminUrl = (): string => process.env[TEST_PG_ENV.adminUrl] ?? '';

describe('createTestDatabase', () => {
  it('gives a migrated database that other test databases do not see', async () => {
    await using a = await createTestDatabase();
    await using b = await createTestDatabase();
    expect(a.name).not.toBe(b.name);
    const tables = await query<{ table_name: string }>(
      a.url,
      "select table_name from information_schema.tables where table_schema = 'public'",
    );
    expect(tables.map((t) => t.table_name)).toContain('workloads');
    await query(a.url, 'create table only_in_a (id int)');
    expect(await query(b.url, "select to_regclass('only_in_a') as t")).toEqual([{ t: null }]);
  });

  it('drops the database on dispose, even with a connection open', async () => {
    let name: string;
    let open: pg.Client | undefined;
    try {
      {
        await using db = await createTestDatabase();
        name = db.name;
        open = new pg.Client({ connectionString: db.url });
        open.on('error', () => undefined);
        await open.connect();
        expect((await open.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      }
      const rows = await query(adminUrl(), `select 1 from pg_database where datname = '${name}'`);
      expect(rows).toHaveLength(0);
    } finally {
      await open?.end().catch(() => undefined);
    }
  });

  it('explains how to run the tests when the global setup did not run', async () => {
    const saved = process.env[TEST_PG_ENV.adminUrl];
    delete process.env[TEST_PG_ENV.adminUrl];
    try {
      await expect(createTestDatabase()).rejects.toThrow(
        'run the tests through jest from the repo root: the global setup provides PostgreSQL',
      );
    } finally {
      process.env[TEST_PG_ENV.adminUrl] = saved;
    }
  });
});
