import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database.js';

/** Options for a connection pool. */
export interface DbOptions {
  /** Pool size; services keep it small, ingest batches instead of fanning out. */
  max?: number;
  applicationName?: string;
  /** Called when an idle client errors (the server went away): log it, the pool replaces it. */
  onIdleError?: (err: Error) => void;
}

/** A Kysely instance over a `pg` pool for `databaseUrl`. `destroy()` ends the pool. */
export function createDb(databaseUrl: string, options: DbOptions = {}): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'niyanta',
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // Without a listener an idle client's error (e.g. PostgreSQL restarting) crashes the process.
  pool.on('error', (err) => options.onIdleError?.(err));
  // pg-pool listens for a client's errors only while it is idle. A checked-out client with no
  // query running at that instant (inside a transaction between statements, or just acquired)
  // emits 'error' with nobody listening when PostgreSQL goes away, and that crashes the process.
  // Nothing to do here: the transaction's next statement fails (the caller retries), and the
  // pool drops the client on release because it is no longer queryable.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
