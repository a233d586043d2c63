import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ScenarioError } from './errors.js';

/** What the bench needs of a service process (a `ServiceProcess` from @niyanta/testing fits). */
export interface BenchProcess {
  readonly pid: number;
  readonly name: string;
  /** Sends `signal` (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<unknown>;
  /** SIGTERM, then SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<unknown>;
  output(): string;
}

const MAX_LINES = 2000;

/**
 * Starts `services/<service>/dist/main.js` under `node --cpu-prof`. Node 20 refuses --cpu-prof
 * in NODE_OPTIONS, so it goes on the command line, which `startServiceProcess` does not take.
 * The profile is written when the process exits on its own (SIGTERM), not on SIGKILL.
 */
export async function startProfiledService(opts: {
  service: string;
  name: string;
  /** The profile's file name without `.cpuprofile`; default the name. */
  profileName?: string;
  env: Record<string, string>;
  profileDir: string;
  repoRoot: string;
}): Promise<BenchProcess> {
  const main = join(opts.repoRoot, 'services', opts.service, 'dist', 'main.js');
  if (!existsSync(main)) {
    throw new ScenarioError(
      'setup',
      `${main} does not exist: run \`npm run build\` first (at the repo root).`,
    );
  }
  const child = spawn(
    process.execPath,
    [
      '--cpu-prof',
      '--cpu-prof-dir',
      resolve(opts.profileDir),
      `--cpu-prof-name=${opts.profileName ?? opts.name}.cpuprofile`,
      main,
    ],
    { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const collect = (chunk: Buffer): void => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((done) => {
    child.once('exit', () => done());
    child.once('error', () => done());
  });
  // However the bench ends, the child must not outlive it.
  const onExit = (): void => void child.kill('SIGKILL');
  process.once('exit', onExit);
  void exited.then(() => process.off('exit', onExit));
  await new Promise<void>((ok, fail) => {
    child.once('spawn', ok);
    child.once('error', (err) =>
      fail(
        new ScenarioError('setup', `could not start ${opts.name}: ${err.message}`, { cause: err }),
      ),
    );
  });
  const isRunning = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid!,
    name: opts.name,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (isRunning()) child.kill(signal);
      await exited;
    },
    async stop(timeoutMs = 10_000) {
      if (!isRunning()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
    output: () => lines.join('\n'),
  };
}
