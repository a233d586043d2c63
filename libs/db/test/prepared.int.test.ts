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
});
