import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { ServerStartError } from './errors.js';
import { findOnPath } from './fs-utils.js';
import { LineBuffer } from './line-buffer.js';

/** How a process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Names the process in errors. */
  name: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** Shared across restarts so the log reads as one. */
  output?: LineBuffer;
}

// Safety nets, so a test that fails before its cleanup leaves no servers behind:
// - setpriv (util-linux) sets PR_SET_PDEATHSIG and execs the command, keeping its pid: the kernel
//   kills the child when we die, however we die (jest workers are SIGTERMed, then SIGKILLed).
// - an 'exit' hook kills what is left (kill() is synchronous, as 'exit' requires). Jest runs tests
//   with a sandboxed `process` whose 'exit' listeners never fire, hence the first.
// - children are unref'd (see spawn), so a leaked one does not keep jest from exiting.
const SETPRIV = process.platform === 'linux' ? findOnPath('setpriv') : undefined;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/** A spawned process whose output is kept and whose exit can be awaited. */
export class ManagedChild {
  readonly name: string;
  readonly output: LineBuffer;
  readonly exited: Promise<ExitInfo>;
  readonly #child: ChildProcess;
  #exit: ExitInfo | undefined;

  private constructor(child: ChildProcess, name: string, output: LineBuffer) {
    this.#child = child;
    this.name = name;
    this.output = output;
    const onData = (chunk: Buffer): void => output.push(chunk.toString('utf8'));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        output.flush();
        resolve(this.#exit);
      });
      // A process that could not be spawned emits 'error' and never 'exit'.
      child.once('error', (err) => {
        output.push(`[spawn error] ${err.message}\n`);
        if (child.pid === undefined) {
          this.#exit = { code: null, signal: null };
          resolve(this.#exit);
        }
      });
    });
  }

  /** Spawns `command` and resolves once the OS has started it. */
  static async spawn(
    command: string,
    args: readonly string[],
    opts: SpawnOptions,
  ): Promise<ManagedChild> {
    const [file, argv] =
      SETPRIV === undefined
        ? [command, args]
        : [SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args]];
    const child = spawn(file, argv, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      uid: opts.uid,
      gid: opts.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const managed = new ManagedChild(child, opts.name, opts.output ?? new LineBuffer());
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) =>
        reject(
          new ServerStartError(opts.name, `Could not spawn ${command}: ${err.message}.`, '', {
            cause: err,
          }),
        ),
      );
    });
    track(child);
    // A leaked handle must not keep a test run alive (jest would hang, in band, until killed), so
    // the child and its pipes do not hold the event loop; our own waits for its exit do instead
    // (waitForExit). A script holding only servers must keep itself alive.
    child.unref();
    for (const stream of [child.stdout, child.stderr])
      (stream as { unref?: () => void } | null)?.unref?.();
    return managed;
  }

  get pid(): number {
    // Set once 'spawn' fired, which spawn() awaits.
    return this.#child.pid ?? -1;
  }

  get exitInfo(): ExitInfo | undefined {
    return this.#exit;
  }

  /** Sends `sig` without waiting (SIGSTOP, SIGCONT). */
  signal(sig: NodeJS.Signals): void {
    if (this.#exit === undefined) this.#child.kill(sig);
  }

  /** Waits for the exit, keeping the event loop alive meanwhile (the child itself does not). */
  async waitForExit(): Promise<ExitInfo> {
    if (this.#exit !== undefined) return this.#exit;
    const keepAlive = setInterval(() => undefined, 60_000);
    try {
      return await this.exited;
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** Sends `sig` (default SIGKILL) and waits for the exit. */
  async kill(sig: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> {
    this.signal(sig);
    return this.waitForExit();
  }

  /** Sends `sig` (default SIGTERM); SIGKILL if the process is still there after `timeoutMs`. */
  async stop(timeoutMs = 10_000, sig: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    if (this.#exit !== undefined) return this.#exit;
    // A stopped (SIGSTOP) process would not act on SIGTERM.
    this.signal('SIGCONT');
    this.signal(sig);
    const timer = new AbortController();
    const outcome = await Promise.race([
      this.waitForExit(),
      delay(timeoutMs, undefined, { signal: timer.signal }).catch(() => undefined),
    ]);
    timer.abort();
    return outcome ?? this.kill('SIGKILL');
  }
}
