import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { TIMESTAMPTZ_OID, parseTimestamptz } from './timestamps.js';
import type { Database } from './database.js';

/** Options for a connection pool. */
export interface DbOptions {
  /** Pool size; services keep it small, ingest batches instead of fanning out. */
  max?: number;
  applicationName?: string;
  /** Called when an idle client errors (the server went away): log it, the pool replaces it. */
  onIdleError?: (err: Error) => void;
  /**
   * Settings every session of the pool starts with (`-c name=value`), e.g. a leader's
   * `niyanta.leader` term or a timeout. Values must not contain whitespace.
   */
  sessionSettings?: Readonly<Record<string, string>>;
}

/**
 * Starts a statement PostgreSQL should keep prepared on each connection: parsed, analysed and
 * planned once per connection (see {@link PLANNER_OPTIONS}), then bound and executed. For hot
 * statements whose text never changes (their values are parameters): parsing a wide
 * jsonb_to_recordset update costs more than running it for a few rows. Put it first in the
 * statement text: `sql\`${PREPARED} update …\``.
 */
export const PREPARED_MARK = '/* prepared */';

/** {@link PREPARED_MARK} as a raw fragment for kysely's `sql` templates. */
export const PREPARED = sql.raw(`${PREPARED_MARK} `);

const names = new Map<string, string>();

/** The statement name of a marked text: a hash, so two texts can never share a name. */
function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `n_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    names.set(text, name);
  }
  return name;
}

// SQLSTATE of "cached plan must not change result type": a migration changed a table under a
// statement prepared on this connection.
const PLAN_RESULT_CHANGED = '0A000';

/**
 * Sends marked statements (see {@link PREPARED_MARK}) as named prepared statements. When a
 * migration changes what one returns, the failing call is thrown (its transaction is retried by
 * its caller as after any error) and the next one prepares it again under a new name.
 */
function prepareMarked(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const renamed = new Map<string, number>();
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const [text, values] = args;
    if (typeof text !== 'string' || !text.startsWith(PREPARED_MARK) || args.length > 2) {
      return query(...args);
    }
    const generation = renamed.get(text) ?? 0;
    const name = `${statementName(text)}_${generation}`;
    return (query({ name, text, values }) as Promise<unknown>).catch((err: unknown) => {
      if ((err as { code?: unknown }).code === PLAN_RESULT_CHANGED)
        renamed.set(text, generation + 1);
      throw err;
    });
  };
}

/**
 * A prepared statement is planned once per connection (a generic plan), with sequential scans
 * priced out so that plan takes an index wherever one serves. A generic plan is made when a
 * statement first runs and kept: on a young table (a fresh install, its first minute, a
 * benchmark) the planner would pick the scan that is cheapest while the table is empty, and a
 * primary-key lookup would cost a scan of every row once it has grown (2.5 ms at 20,000 rows
 * against 0.02). Planning on every execution instead cost more than running the statement:
 * 0.3–0.7 ms a call for the scheduler's wide statements, 40 % of PostgreSQL's CPU at 200
 * submissions/s. A table without a usable index is still scanned. Sorts are priced out the
 * same way: a list or the queue is read in its index's order, never sorted from a scan that
 * looked cheaper on a young table (a query with no index for its order still sorts). The placer
 * had set that per transaction, one round trip of the five in each placement cycle.
 *
 * JIT is off: up to PostgreSQL 17 a disabled node that must stay (the sort of ingest's events)
 * adds 10^10 to the plan's cost, far above jit_above_cost, so a server built with LLVM (Debian's,
 * the postgres image) compiled the statement on every execution: 70–130 ms a call, for statements
 * that run in under 1 ms. These statements touch few rows by index; JIT never pays for them.
 */
const PLANNER_OPTIONS =
  '-c plan_cache_mode=force_generic_plan -c enable_seqscan=off -c enable_sort=off -c jit=off';

/**
 * The connection string without its `options` (pg would let them replace ours), and those
 * options (a search_path, say) with {@link PLANNER_OPTIONS} after them.
 */
function withPlannerOptions(
  databaseUrl: string,
  extra = '',
): { connectionString: string; options: string } {
  const ours = extra === '' ? PLANNER_OPTIONS : `${PLANNER_OPTIONS} ${extra}`;
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return { connectionString: databaseUrl, options: ours };
  }
  const own = url.searchParams.get('options');
  if (!own) return { connectionString: databaseUrl, options: ours };
  url.searchParams.delete('options');
  return { connectionString: url.toString(), options: `${own} ${ours}` };
}

/** `-c name=value` for each setting; throws on a value PostgreSQL would split. */
export function settingOptions(settings: Readonly<Record<string, string>> = {}): string {
  return Object.entries(settings)
    .map(([name, value]) => {
      if (/\s/.test(name) || /\s/.test(value))
        throw new Error(`session setting ${name}=${JSON.stringify(value)} contains whitespace`);
      return `-c ${name}=${value}`;
    })
    .join(' ');
}

/** A Kysely instance over a `pg` pool for `databaseUrl`. `destroy()` ends the pool. */
export function createDb(databaseUrl: string, options: DbOptions = {}): Kysely<Database> {
  const pool = new pg.Pool({
    ...withPlannerOptions(databaseUrl, settingOptions(options.sessionSettings)),
    max: options.max ?? 10,
    // Lets the kernel notice a peer that vanished (a network partition) on an idle connection.
    keepAlive: true,
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
    client.setTypeParser(TIMESTAMPTZ_OID, 'text', parseTimestamptz);
    prepareMarked(client);
  });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
