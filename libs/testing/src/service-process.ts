import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ServerStartError, TestingError } from './errors.js';
import type { ExitInfo } from './managed-child.js';
import { ManagedChild } from './managed-child.js';
import { repoRoot } from './repo-root.js';

/** The services that run as processes; `all` hosts api, scheduler, health-monitor and checkpoint in one. */
export const SERVICE_NAMES = {
  all: 'all',
  api: 'api',
  scheduler: 'scheduler',
  healthMonitor: 'health-monitor',
  checkpoint: 'checkpoint',
  worker: 'worker',
} as const;
export type ServiceName = (typeof SERVICE_NAMES)[keyof typeof SERVICE_NAMES];

export interface ServiceProcessOptions {
  service: ServiceName;
  /** Added to (and overriding) this process's environment. */
  env: Record<string, string>;
  /** Names the process in errors and logs; default: the service name. */
  name?: string;
}

export interface ServiceProcess extends AsyncDisposable {
  readonly pid: number;
  readonly name: string;
  /** Resolves when the process exits, however it ends. */
  readonly exited: Promise<ExitInfo>;
  /** Sends `signal` (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL if it has not exited after `timeoutMs` (default 10000). */
  stop(timeoutMs?: number): Promise<ExitInfo>;
  /** Sends `sig` without waiting (SIGSTOP, SIGCONT). */
  signal(sig: NodeJS.Signals): void;
  /** Its recent stdout and stderr (up to ~2000 lines). */
  output(): string;
  lines(): string[];
  /** Resolves with the first line (already printed or coming) matching `re`; rejects on exit or timeout. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
}

/** Starts `services/<service>/dist/main.js` as its own node process. */
export async function startServiceProcess(opts: ServiceProcessOptions): Promise<ServiceProcess> {
  const main = join(repoRoot(), 'services', opts.service, 'dist', 'main.js');
  if (!existsSync(main)) {
    throw new TestingError(
      `${main} does not exist: run \`npm run build\` first (at the repo root).`,
    );
  }
  return startNodeProcess(main, { env: opts.env, name: opts.name ?? opts.service });
}

/** Starts `node <script>` with this process's environment plus `env`, its output captured. */
export async function startNodeProcess(
  script: string,
  opts: { env?: Record<string, string>; name?: string; args?: readonly string[] } = {},
): Promise<ServiceProcess> {
  const name = opts.name ?? script;
  const child = await ManagedChild.spawn(process.execPath, [script, ...(opts.args ?? [])], {
    name,
    env: { ...process.env, ...opts.env },
  });
  const output = child.output;

  const waitForLine = (re: RegExp, timeoutMs = 10_000): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const seen = output.lines().find((line) => re.test(line));
      if (seen !== undefined) {
        resolve(seen);
        return;
      }
      let done = false;
      const finish = (): void => {
        done = true;
        clearTimeout(timer);
        unsubscribe();
      };
      const unsubscribe = output.subscribe((line) => {
        if (!re.test(line)) return;
        finish();
        resolve(line);
      });
      const timer = setTimeout(() => {
        finish();
        reject(
          new ServerStartError(
            name,
            `No line of ${name} matched ${String(re)} within ${timeoutMs} ms.`,
            output.tail(),
          ),
        );
      }, timeoutMs);
      void child.exited.then(({ code, signal }) => {
        if (done) return;
        finish();
        reject(
          new ServerStartError(
            name,
            `${name} exited (code ${String(code)}, signal ${String(signal)}) before a line matched ${String(re)}.`,
            output.tail(),
          ),
        );
      });
    });

  return {
    pid: child.pid,
    name,
    exited: child.exited,
    kill: (signal: NodeJS.Signals = 'SIGKILL') => child.kill(signal),
    stop: (timeoutMs = 10_000) => child.stop(timeoutMs),
    signal: (sig) => child.signal(sig),
    output: () => output.text(),
    lines: () => output.lines(),
    waitForLine,
    async [Symbol.asyncDispose]() {
      await child.stop();
    },
  };
}
