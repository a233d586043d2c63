import { randomBytes } from 'node:crypto';
import { migrateToLatest } from '@niyanta/db';
import { databaseUrl, quoteIdent, withClient } from './pg-admin.js';
import { startPostgresServer } from './postgres-server.js';
import type { PostgresHandle } from './postgres-server.js';
import { TEST_PG_ENV } from './test-database.js';

/** What the jest global teardown undoes. */
export interface GlobalPostgres {
  readonly adminUrl: string;
  readonly template: string;
  teardown(): Promise<void>;
}

/**
 * PostgreSQL for a whole test run: DATABASE_URL if set, else a server of our own; a template
 * database migrated to the latest schema; both handed to jest workers through the environment.
 */
export async function setUpGlobalPostgres(): Promise<GlobalPostgres> {
  const given = process.env['DATABASE_URL'];
  const server: PostgresHandle | undefined = given ? undefined : await startPostgresServer();
  const adminUrl = given ?? server?.url ?? '';
  const template = `niyanta_template_${randomBytes(6).toString('hex')}`;
  const dropTemplate = (): Promise<void> =>
    withClient(adminUrl, async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(template)} WITH (FORCE)`);
    });
  try {
    await withClient(adminUrl, async (client) => {
      await client.query(`CREATE DATABASE ${quoteIdent(template)}`);
    });
    await migrateToLatest(databaseUrl(adminUrl, template));
  } catch (err) {
    await dropTemplate().catch(() => undefined);
    await server?.[Symbol.asyncDispose]();
    throw err;
  }
  process.env[TEST_PG_ENV.adminUrl] = adminUrl;
  process.env[TEST_PG_ENV.template] = template;
  return {
    adminUrl,
    template,
    async teardown() {
      try {
        await dropTemplate();
      } finally {
        await server?.[Symbol.asyncDispose]();
      }
    },
  };
}
