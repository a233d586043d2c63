import { createDb, readWorkloadAttempts } from '@niyanta/db';
import { DEFAULT_TENANT, uuidv7 } from '@niyanta/messages';
import { createTestDatabase } from '@niyanta/testing';
import { sql } from 'kysely';

describe('readWorkloadAttempts', () => {
  it('reads attempt, status and worker of any number of ids through one prepared statement', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 1 }); // one connection: one set of prepared statements
    try {
      await sql`insert into workloads (id, tenant, type, status, attempt, worker_id, priority, max_attempts, input)
        select gen_random_uuid(), ${DEFAULT_TENANT}, 'sleep', 'RUNNING', 2, 'w1', 0, 3, '{}'
        from generate_series(1, 3000)`.execute(db);
      const { rows } = await sql<{ id: string }>`select id from workloads`.execute(db);
      const ids = rows.map((r) => r.id);
      const missing = uuidv7();
      for (const count of [1, 7, 3000]) {
        const read = await readWorkloadAttempts(db, [...ids.slice(0, count), missing, ids[0]!]);
        expect(read).toHaveLength(count);
        expect(read[0]).toMatchObject({ attempt: 2, status: 'RUNNING', worker_id: 'w1' });
      }
      const locked = await db.transaction().execute(async (trx) => {
        const read = await readWorkloadAttempts(trx, ids.slice(0, 50).reverse(), {
          forShare: true,
        });
        const { rows: locks } = await sql<{ n: number }>`
          select count(*)::int as n from pg_locks
          where locktype = 'tuple' or (locktype = 'transactionid' and pid = pg_backend_pid())`.execute(
          trx,
        );
        return { read, locks: locks[0]!.n };
      });
      // In id order, whatever order they were asked in.
      expect(locked.read.map((r) => r.id)).toEqual(ids.slice(0, 50).sort());
      // FOR SHARE marks the rows, which takes the transaction an id.
      expect(locked.locks).toBeGreaterThan(0);
      const prepared = await sql<{ statement: string }>`
        select statement from pg_prepared_statements where statement like '%worker_id from workloads%'`.execute(
        db,
      );
      expect(prepared.rows).toHaveLength(2); // one text per form, for every count
    } finally {
      await db.destroy();
    }
  });
});
