import type { Database } from '@niyanta/db';
import type { Kysely } from 'kysely';
import type { Executor } from '../src/workload-core/statements/executor.js';

/** Runs `body` in a transaction that is rolled back: now() is one instant, and nothing stays. */
export async function inRolledBack<T>(
  db: Kysely<Database>,
  body: (trx: Executor) => Promise<T>,
): Promise<T> {
  const rollback = new Error('rollback');
  let result: T | undefined;
  await db
    .transaction()
    .execute(async (trx) => {
      result = await body(trx);
      throw rollback;
    })
    .catch((err: unknown) => {
      if (err !== rollback) throw err;
    });
  return result as T;
}
