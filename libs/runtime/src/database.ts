import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { redactUrl } from './redact.js';
import { retryUntilDone } from './retry.js';

/** A PostgreSQL pool the service owns. */
export interface Db extends AsyncDisposable {
  db: Kysely<Database>;
  /** `select 1` within a second: for /readyz. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Opens a pool and waits (with backoff, logging why) until PostgreSQL answers. */
export async function connectDatabase(opts: {
  url: string;
  name: string;
  log: Logger;
  max?: number;
  signal?: AbortSignal;
}): Promise<Db> {
  const db = createDb(opts.url, {
    max: opts.max ?? 10,
    applicationName: opts.name,
    onIdleError: (err) =>
      opts.log.warn({ err }, 'PostgreSQL connection lost; the pool will reconnect'),
  });
  const ping = async () => {
    try {
      await Promise.race([
        sql`select 1`.execute(db),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1_000).unref()),
      ]);
      return true;
    } catch {
      return false;
    }
  };
  try {
    await retryUntilDone(
      `connect to PostgreSQL (${redact(opts.url)})`,
      () => sql`select 1`.execute(db),
      {
        log: opts.log,
        signal: opts.signal,
      },
    );
  } catch (err) {
    await db.destroy(); // aborted while retrying: nothing else owns the pool
    throw err;
  }
  opts.log.info({ url: redact(opts.url) }, 'PostgreSQL connected');
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= db.destroy());
  return { db, ping, close, [Symbol.asyncDispose]: close };
}

/** The URL without its password, for logs. */
export function redact(url: string): string {
  return redactUrl(url);
}
