import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { TestingError } from './errors.js';
import { databaseUrl, quoteIdent, withClient } from './pg-admin.js';

export interface TestDatabase extends AsyncDisposable {
  /** Connection URL of the new database. */
  readonly url: string;
  readonly name: string;
}

/** Env vars through which the jest global setup hands its PostgreSQL to the workers. */
export const TEST_PG_ENV = {
  adminUrl: 'NIYANTA_TEST_PG_ADMIN_URL',
  template: 'NIYANTA_TEST_PG_TEMPLATE',
} as const;

// 55006 object_in_use: another session is connected to the template (for a moment after a
// concurrent CREATE DATABASE from it), so the copy is retried briefly.
const OBJECT_IN_USE = '55006';

/** Creates a fresh, migrated database cloned from the global setup's template; dispose drops it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env[TEST_PG_ENV.adminUrl];
  const template = process.env[TEST_PG_ENV.template];
  if (!adminUrl || !template) {
    throw new TestingError(
      `${TEST_PG_ENV.adminUrl} and ${TEST_PG_ENV.template} are not set: run the tests through jest from the repo root: the global setup provides PostgreSQL.`,
    );
  }
  const name = `niyanta_test_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, async (client) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`);
        return;
      } catch (err) {
        if ((err as { code?: string }).code === OBJECT_IN_USE && Date.now() < deadline) {
          await delay(50);
          continue;
        }
        throw new TestingError(
          `CREATE DATABASE ${name} TEMPLATE ${template} failed: ${(err as Error).message}. A template must have no open connections: close every pool opened on it.`,
          { cause: err },
        );
      }
    }
  });
  let dropped: Promise<void> | undefined;
  return {
    url: databaseUrl(adminUrl, name),
    name,
    [Symbol.asyncDispose]() {
      dropped ??= withClient(adminUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      });
      return dropped;
    },
  };
}
