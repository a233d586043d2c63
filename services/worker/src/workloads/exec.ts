import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { join, resolve as resolvePath, sep } from 'node:path';
import { defineWorkload, WorkloadError } from '@niyanta/worker-sdk';
import type { WorkloadContext, WorkloadDefinition } from '@niyanta/worker-sdk';
import type { ExecAllowList } from './exec-allow.js';
import { childEnv, isBlockedEnvName } from './exec-env.js';

/** Grace period between SIGTERM and SIGKILL when a run is stopped. */
export const EXEC_KILL_GRACE_MS = 5_000;
/** A line of output longer than this (in characters) is split: a child without newlines cannot grow the worker. */
export const EXEC_LINE_MAX_CHARS = 64 * 1024;
/** Default of WORKER_EXEC_MAX_LOG_BYTES: a run's log beyond it is counted and dropped. */
export const EXEC_MAX_LOG_BYTES = 10 * 1024 * 1024;

export interface ExecInput {
  command: string;
  args?: string[];
  env?: Record<string, string>;
  /** Environment variable name to the name of one of the submission's secrets. */
  secretEnv?: Record<string, string>;
  /** Inside the run's own working directory (relative to it, or absolute within it). */
  cwd?: string;
}
export interface ExecResult {
  exitCode: 0;
}

/** How the worker runs `exec` children (from WORKER_EXEC_*). */
export interface ExecOptions {
  /** Entries resolved at start-up (see `resolveExecAllow`), or `'*'` for any command. */
  allow: ExecAllowList | '*';
  /** The worker's variables every child gets: PATH, LANG, TZ and WORKER_EXEC_ENV_PASS's names. */
  inheritedEnv: Readonly<Record<string, string>>;
  /** Where each run's fresh working directory is made (WORKER_EXEC_WORKDIR). */
  workdir: string;
  /** Bytes of output one run may log (WORKER_EXEC_MAX_LOG_BYTES). */
  maxLogBytes: number;
}

const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';

/**
 * `exec`: runs an allowed command (no shell) in a fresh working directory with a minimal
 * environment, streams its output as log lines (bounded); exit code 0 succeeds.
 */
export function createExecWorkload(
  opts: ExecOptions,
): WorkloadDefinition<ExecInput, unknown, ExecResult> {
  const { allow } = opts;
  return defineWorkload({
    type: 'exec',
    input: {
      type: 'object',
      properties: {
        command: {
          type: 'string',
          minLength: 1,
          maxLength: 4096,
          description: 'Executable name or path (run without a shell).',
        },
        args: { type: 'array', items: { type: 'string' }, description: 'Arguments, passed as is.' },
        env: {
          type: 'object',
          propertyNames: { pattern: ENV_NAME },
          additionalProperties: { type: 'string' },
          description: 'Extra environment variables.',
        },
        secretEnv: {
          type: 'object',
          propertyNames: { pattern: ENV_NAME },
          additionalProperties: { type: 'string' },
          description:
            "Environment variables set to the submission's secrets: variable name to secret name.",
        },
        cwd: {
          type: 'string',
          minLength: 1,
          description: "Working directory, inside the run's own directory.",
        },
      },
      required: ['command'],
      additionalProperties: false,
    },
    async run(ctx: WorkloadContext, input: ExecInput): Promise<ExecResult> {
      let program = input.command;
      if (allow !== '*') {
        // The command must be listed exactly as given: a path that merely ends in an allowed
        // name is another program. A listed name runs what it resolved to at start-up.
        const resolved = allow.get(input.command);
        if (resolved === undefined) {
          throw new WorkloadError(
            `command "${input.command}" is not allowed on this worker. Add it to WORKER_EXEC_ALLOW (allowed: ${[...allow.keys()].join(', ') || 'none'}).`,
            { code: 'COMMAND_NOT_ALLOWED', retryable: false },
          );
        }
        program = resolved;
        // With a list, the submitter must not steer which program or code runs.
        const steering = [
          ...Object.keys(input.env ?? {}),
          ...Object.keys(input.secretEnv ?? {}),
        ].filter(isBlockedEnvName);
        if (steering.length > 0) {
          throw new WorkloadError(
            `env ${steering.join(', ')} may not be set when WORKER_EXEC_ALLOW lists commands: it would change which program or code runs (see docs/security.md).`,
            { code: 'ENV_NOT_ALLOWED', retryable: false },
          );
        }
      }
      const secrets = secretEnv(ctx, input.secretEnv);
      await mkdir(opts.workdir, { recursive: true, mode: 0o700 });
      const dir = await mkdtemp(join(opts.workdir, 'run-'));
      try {
        const cwd = await runCwd(dir, input.cwd);
        const env = childEnv({
          inherited: opts.inheritedEnv,
          home: dir,
          input: input.env,
          secrets,
        });
        return await runCommand(ctx, input, { program, cwd, env, maxLogBytes: opts.maxLogBytes });
      } finally {
        await rm(dir, { recursive: true, force: true, maxRetries: 3 });
      }
    },
  });
}

/** The `secretEnv` variables, from `ctx.secrets`; a name the submission did not list fails the run. */
function secretEnv(
  ctx: WorkloadContext,
  mapping: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, secret] of Object.entries(mapping ?? {})) {
    const value = Object.hasOwn(ctx.secrets, secret) ? ctx.secrets[secret] : undefined;
    if (value === undefined) {
      throw new WorkloadError(
        `secretEnv ${name} names secret "${secret}", which is not among the submission's secrets. Add it to the submission's "secrets".`,
        { code: 'SECRET_NOT_AVAILABLE', retryable: false },
      );
    }
    env[name] = value;
  }
  return env;
}

/**
 * The child's working directory: `cwd` resolved against the run's directory (made if missing),
 * refused unless it stays inside it once symlinks are resolved.
 */
async function runCwd(dir: string, cwd: string | undefined): Promise<string> {
  const root = await realpath(dir);
  if (cwd === undefined) return root;
  const inside = (p: string): boolean => p === root || p.startsWith(root + sep);
  const outside = (): WorkloadError =>
    new WorkloadError(
      `cwd "${cwd}" is outside the run's working directory. Give a path inside it (relative paths are resolved against it).`,
      { code: 'CWD_OUTSIDE_WORKDIR', retryable: false },
    );
  const wanted = resolvePath(root, cwd);
  if (!inside(wanted)) throw outside();
  await mkdir(wanted, { recursive: true });
  // The lexical check passed; a symlink on the way must not lead out either.
  if (!inside(await realpath(wanted))) throw outside();
  return wanted;
}

interface Spawn {
  program: string;
  cwd: string;
  env: Record<string, string>;
  maxLogBytes: number;
}

function runCommand(ctx: WorkloadContext, input: ExecInput, how: Spawn): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(how.program, input.args ?? [], {
      shell: false,
      env: how.env,
      cwd: how.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a stop reaches the grandchildren too (`sh -c 'a; b'`):
      // one left alive would hold the output pipes open and the run would never end.
      detached: true,
    });
    const cap = logCap(how.maxLogBytes);
    const stdout = lineSplitter((line) => {
      if (cap.admit(line)) ctx.log.write('stdout', line);
    });
    const stderr = lineSplitter((line) => {
      if (cap.admit(line)) ctx.log.write('stderr', line);
    });
    // A child writing faster than its lines are published is paused (its pipe fills and its
    // writes block) until the host has room again: the worker never buffers without bound.
    let paused = false;
    const backpressure = (): void => {
      if (paused || cap.full() || ctx.log.hasRoom()) return;
      paused = true;
      child.stdout.pause();
      child.stderr.pause();
      void ctx.log.waitForRoom().then(() => {
        paused = false;
        child.stdout.resume();
        child.stderr.resume();
      });
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout.push(chunk);
      backpressure();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr.push(chunk);
      backpressure();
    });
    // A pipe error ends that stream; 'close' still decides the outcome.
    child.stdout.on('error', () => undefined);
    child.stderr.on('error', () => undefined);

    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        child.kill(signal); // the group is gone already (ESRCH); the child's own kill is a no-op then
      }
    };
    const onAbort = (): void => {
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), EXEC_KILL_GRACE_MS);
      killTimer.unref();
    };
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
    const cleanup = (): void => {
      clearTimeout(killTimer);
      ctx.signal.removeEventListener('abort', onAbort);
    };

    child.on('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      if (err.code === 'ENOENT') {
        reject(
          new WorkloadError(
            `command "${input.command}" was not found: ${err.message}. Install it on the worker or use its full path.`,
            {
              code: 'COMMAND_NOT_FOUND',
              retryable: false,
              cause: err,
            },
          ),
        );
      } else {
        reject(
          new WorkloadError(`command "${input.command}" could not be started: ${err.message}`, {
            code: 'SPAWN_FAILED',
            cause: err,
          }),
        );
      }
    });
    // 'close', not 'exit': it fires after both output streams ended, so no line is lost.
    child.on('close', (code, signal) => {
      cleanup();
      stdout.flush();
      stderr.flush();
      if (cap.dropped > 0) {
        ctx.log.warn(
          `output over WORKER_EXEC_MAX_LOG_BYTES (${how.maxLogBytes} bytes): ${cap.dropped} bytes in ${cap.droppedLines} lines dropped`,
        );
      }
      if (code === 0) resolve({ exitCode: 0 });
      else if (code !== null) {
        reject(
          new WorkloadError(`command exited with code ${code}`, {
            code: `EXIT_CODE_${code}`,
            retryable: true,
            details: { exitCode: code },
          }),
        );
      } else {
        reject(
          new WorkloadError(`command was killed by ${signal ?? 'a signal'}`, {
            code: `SIGNAL_${signal ?? 'UNKNOWN'}`,
            retryable: true,
          }),
        );
      }
    });
  });
}

/** Counts a run's logged bytes (UTF-8, newline included); past the cap it drops and counts. */
function logCap(maxBytes: number): {
  admit: (line: string) => boolean;
  full: () => boolean;
  readonly dropped: number;
  readonly droppedLines: number;
} {
  let used = 0;
  let dropped = 0;
  let droppedLines = 0;
  return {
    admit(line) {
      const size = Buffer.byteLength(line) + 1;
      if (dropped === 0 && used + size <= maxBytes) {
        used += size;
        return true;
      }
      dropped += size;
      droppedLines++;
      return false;
    },
    full: () => dropped > 0,
    get dropped() {
      return dropped;
    },
    get droppedLines() {
      return droppedLines;
    },
  };
}

/**
 * Buffers chunks and emits complete lines (without `\n` or `\r\n`), splitting any line longer
 * than {@link EXEC_LINE_MAX_CHARS}; `flush` emits the rest.
 */
function lineSplitter(emit: (line: string) => void): {
  push: (chunk: string) => void;
  flush: () => void;
} {
  let partial = '';
  return {
    push(chunk) {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const part of parts) emitSplit(part.endsWith('\r') ? part.slice(0, -1) : part);
      while (partial.length > EXEC_LINE_MAX_CHARS) {
        emit(partial.slice(0, EXEC_LINE_MAX_CHARS));
        partial = partial.slice(EXEC_LINE_MAX_CHARS);
      }
    },
    flush() {
      if (partial !== '') emit(partial);
      partial = '';
    },
  };

  function emitSplit(line: string): void {
    let rest = line;
    while (rest.length > EXEC_LINE_MAX_CHARS) {
      emit(rest.slice(0, EXEC_LINE_MAX_CHARS));
      rest = rest.slice(EXEC_LINE_MAX_CHARS);
    }
    emit(rest);
  }
}
