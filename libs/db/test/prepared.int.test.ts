import { createDb, PREPARED } from '@niyanta/db';
import { createTestDatabase } from '@niyanta/testing';
import { sql } from 'kysely';

describe('prepared statements', () => {
  it('keeps a marked statement prepared on its connection and plans it once', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 1 }); // one connection: the same backend each time
    try {
      for (const id of ['a', 'b', 'c']) {
        const { rows } = await sql<{ n: string }>`${PREPARED}select ${id}::text as n`.execute(db);
        expect(rows).toEqual([{ n: id }]);
      }
      await sql`select 1 as unmarked`.execute(db);
      const prepared = await sql<{ statement: string }>`
        select statement from pg_prepared_statements`.execute(db);
      expect(prepared.rows.map((r) => r.statement)).toEqual([
        expect.stringMatching(/^\/\* prepared \*\/ select \$1::text as n/),
      ]);
    } finally {
      await db.destroy();
    }
  });

  it('prepares again when a migration changes what a statement returns', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 1 });
    try {
      await sql`create table t (a int)`.execute(db);
      await sql`insert into t values (1)`.execute(db);
      const read = () => sql<Record<string, number>>`${PREPARED}select * from t`.execute(db);
      expect((await read()).rows).toEqual([{ a: 1 }]);
      await sql`alter table t add column b int default 2`.execute(db);
      // The first call after the change fails (its caller retries, as after any error) …
      await expect(read()).rejects.toMatchObject({ code: '0A000' });
      // … and the next one is prepared anew.
      expect((await read()).rows).toEqual([{ a: 1, b: 2 }]);
    } finally {
      await db.destroy();
    }
  });

  it('plans a prepared statement once, on an index that still serves when the table has grown', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 1 });
    try {
      await sql`create table grows (id int primary key, body text)`.execute(db);
      const fill = (from: number, to: number) =>
        sql`insert into grows select g, repeat('x', 100) from generate_series(${from}::int, ${to}::int) g`.execute(
          db,
        );
      const lookup = (ids: number[]) =>
        sql`${PREPARED}select * from grows where id = any(${ids}::int[])`.execute(db);
      // Its plan is made on a young table of one page, analysed as autovacuum soon does, where
      // a sequential scan is the cheapest; the table then grows faster than it is analysed.
      await fill(1, 50);
      await sql`analyze grows`.execute(db);
      for (let i = 0; i < 8; i++) await lookup(Array.from({ length: 10 }, (_, k) => i * 10 + k));
      await fill(51, 20_000);
      const { rows } = await lookup([5, 19_999]);
      expect(rows).toHaveLength(2);
      // Every execution used the one plan, never a fresh one (its name is the pool's own).
      const { rows: statements } = await sql<{ name: string; generic: string; custom: string }>`
        select name, generic_plans as generic, custom_plans as custom
        from pg_prepared_statements`.execute(db);
      expect(statements).toEqual([{ name: expect.any(String), generic: '9', custom: '0' }]);
      const { rows: plan } = await sql<{ 'QUERY PLAN': string }>`
        explain execute ${sql.id(statements[0]!.name)}('{5,19999}')`.execute(db);
      const text = plan.map((line) => line['QUERY PLAN']).join('\n');
      expect(text).toMatch(/grows_pkey/);
      expect(text).not.toMatch(/Seq Scan/);
    } finally {
      await db.destroy();
    }
  });

  it('compiles no statement with JIT, not even one whose plan keeps a sort it priced out', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 1 });
    try {
      // With enable_sort=off this sort costs 10^10 up to PostgreSQL 17, past jit_above_cost: a
      // server built with LLVM (CI runs these tests on Debian's 15 too) would compile it.
      const { rows } = await sql<{ 'QUERY PLAN': unknown }>`
        explain (analyze, format json)
        select g from generate_series(1, 100) g order by g desc`.execute(db);
      const plan = JSON.stringify(rows[0]!['QUERY PLAN']);
      expect(plan).toContain('"Node Type":"Sort"');
      expect(plan).not.toContain('"JIT"');
    } finally {
      await db.destroy();
    }
  });

  it('keeps the options a database URL gives, besides its own', async () => {
    await using database = await createTestDatabase();
    const url = new URL(database.url);
    url.searchParams.set('options', '-c search_path=elsewhere,public');
    const db = createDb(url.toString(), { max: 1 });
    try {
      const { rows } = await sql<Record<string, string>>`
        select current_setting('search_path') as path,
          current_setting('plan_cache_mode') as mode,
          current_setting('enable_seqscan') as seqscan,
          current_setting('enable_sort') as sort,
          current_setting('jit') as jit`.execute(db);
      expect(rows).toEqual([
        {
          path: 'elsewhere,public',
          mode: 'force_generic_plan',
          seqscan: 'off',
          sort: 'off',
          // A sort that must stay would price the plan over jit_above_cost (up to PostgreSQL
          // 17), and a server with LLVM would compile each execution: 70-130 ms a call.
          jit: 'off',
        },
      ]);
    } finally {
      await db.destroy();
    }
  });
});
