import { Migrator } from 'kysely';
import type { Kysely, MigrationResult } from 'kysely';
import { createDb } from './connection.js';
import type { Database } from './database.js';
import { MIGRATIONS } from './migrations/index.js';

/** Migration failed; `results` says which ran. */
export class MigrationError extends Error {
  override name = 'MigrationError';
  constructor(
    message: string,
    readonly results: readonly MigrationResult[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Applies every pending migration on `db`; safe to run twice and from several processes. */
export async function migrateDb(db: Kysely<Database>): Promise<MigrationResult[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(
      `migration ${failed} failed: ${(error as Error).message ?? String(error)}`,
      results,
      {
        cause: error,
      },
    );
  }
  return results;
}

/** Applies every pending migration to the database at `databaseUrl`. */
export async function migrateToLatest(databaseUrl: string): Promise<MigrationResult[]> {
  const db = createDb(databaseUrl, { max: 1, applicationName: 'niyanta-migrate' });
  try {
    return await migrateDb(db);
  } finally {
    await db.destroy();
  }
}
