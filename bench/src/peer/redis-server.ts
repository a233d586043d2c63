import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '@niyanta/testing';
import { ScenarioError } from '../errors.js';

/** What to do when redis-server is missing. */
export const REDIS_INSTALL_HINT =
  'redis-server is not on the PATH. Install it (Debian/Ubuntu: apt-get install -y redis-server; ' +
  'macOS: brew install redis), or run the bench with --peer none.';

/** A redis-server the bench started, with AOF on and fsync every second. */
export interface RedisHandle extends AsyncDisposable {
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  /** The server's version, from its start-up log. */
  readonly version: string;
  output(): string;
}

const START_TIMEOUT_MS = 15_000;

/** The path of `name` on the PATH (and /usr/sbin, /usr/bin), or undefined. */
function onPath(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/bin'];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Starts redis-server on a free port of 127.0.0.1 in a temporary directory, durable as a queue
 * is run in production: the append-only file on, fsync every second, no RDB snapshots.
 */
export async function startRedisServer(): Promise<RedisHandle> {
  const bin = onPath('redis-server');
  if (bin === undefined) throw new ScenarioError('setup', REDIS_INSTALL_HINT);
  const dir = await mkdtemp(join(tmpdir(), 'niyanta-bench-redis-'));
  const port = await freePort();
  const child = spawn(
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--daemonize',
      'no',
      '--protected-mode',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const onExit = (): void => void child.kill('SIGKILL');
  process.once('exit', onExit);
  const remove = async (): Promise<void> => {
    process.off('exit', onExit);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ScenarioError('setup', `redis-server did not start:\n${output}`)),
        START_TIMEOUT_MS,
      );
      const check = (): void => {
        if (/Ready to accept connections/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', check);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(
          new ScenarioError('setup', `could not start ${bin}: ${err.message}`, { cause: err }),
        );
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new ScenarioError('setup', `redis-server exited while starting:\n${output}`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await remove();
    throw err;
  }
  const version = /version=([\d.]+)/.exec(output)?.[1] ?? 'unknown';
  let closing: Promise<void> | undefined;
  return {
    pid: child.pid!,
    host: '127.0.0.1',
    port,
    version,
    output: () => output,
    [Symbol.asyncDispose]: () =>
      (closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
        await remove();
      })()),
  };
}
