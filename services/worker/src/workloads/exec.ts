import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { defineWorkload, WorkloadError } from '@niyanta/worker-sdk';
import type { WorkloadContext, WorkloadDefinition } from '@niyanta/worker-sdk';

/** Grace period between SIGTERM and SIGKILL when a run is stopped. */
export const EXEC_KILL_GRACE_MS = 5_000;

export interface ExecInput {
  command: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
}
export interface ExecResult {
  exitCode: 0;
}

/** `exec`: runs an allowed command (no shell), streams its output as log lines; exit code 0 succeeds. */
export function createExecWorkload(
  allow: readonly string[] | '*',
): WorkloadDefinition<ExecInput, unknown, ExecResult> {
  const allowed = allow === '*' ? undefined : new Set(allow);
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
          additionalProperties: { type: 'string' },
          description: 'Extra environment variables.',
        },
        cwd: { type: 'string', minLength: 1, description: 'Working directory.' },
      },
      required: ['command'],
      additionalProperties: false,
    },
    run(ctx: WorkloadContext, input: ExecInput): Promise<ExecResult> {
      if (!allowed) return runCommand(ctx, input, input.command);
      // The command must be listed exactly as given: a path that merely ends in an allowed name
      // is another program.
      if (!allowed.has(input.command)) {
        throw new WorkloadError(
          `command "${input.command}" is not allowed on this worker. Add it to WORKER_EXEC_ALLOW (allowed: ${[...allowed].join(', ') || 'none'}).`,
          { code: 'COMMAND_NOT_ALLOWED', retryable: false },
        );
      }
      // With a list, the submitter must not steer which program or code runs: no loader
      // variables, and a bare name is looked up on the WORKER's PATH, not the input's.
      const steering = Object.keys(input.env ?? {}).filter((k) => STEERING_ENV.test(k));
      if (steering.length > 0) {
        throw new WorkloadError(
          `env ${steering.join(', ')} may not be set when WORKER_EXEC_ALLOW lists commands: it would change which program or code runs.`,
          { code: 'ENV_NOT_ALLOWED', retryable: false },
        );
      }
      return runCommand(ctx, input, resolveOnWorkerPath(input.command));
    },
  });
}

/** Environment variables that choose the program or inject code into it. */
const STEERING_ENV = /^(PATH|LD_.*|DYLD_.*|NODE_OPTIONS|PYTHONPATH|PERL5LIB|RUBYOPT|BASH_ENV|ENV)$/;

/** A bare command name resolved against the worker's own PATH (unchanged if not found or a path). */
function resolveOnWorkerPath(command: string): string {
  if (command.includes('/') || isAbsolute(command)) return command;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return command; // spawn reports ENOENT: COMMAND_NOT_FOUND
}

function runCommand(ctx: WorkloadContext, input: ExecInput, program: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, input.args ?? [], {
      shell: false,
      env: { ...process.env, ...input.env },
      cwd: input.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a stop reaches the grandchildren too (`sh -c 'a; b'`):
      // one left alive would hold the output pipes open and the run would never end.
      detached: true,
    });
    const stdout = lineSplitter((line) => ctx.log.write('stdout', line));
    const stderr = lineSplitter((line) => ctx.log.write('stderr', line));
    child.stdout.setEncoding('utf8').on('data', stdout.push);
    child.stderr.setEncoding('utf8').on('data', stderr.push);

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
            `command "${input.command}" was not found${input.cwd ? ` (cwd ${input.cwd})` : ''}: ${err.message}. Install it on the worker or use its full path.`,
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

/** Buffers chunks and emits complete lines (without `\n` or `\r\n`); `flush` emits the rest. */
function lineSplitter(emit: (line: string) => void): {
  push: (chunk: string) => void;
  flush: () => void;
} {
  let partial = '';
  return {
    push(chunk) {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const part of parts) emit(part.endsWith('\r') ? part.slice(0, -1) : part);
    },
    flush() {
      if (partial !== '') emit(partial);
      partial = '';
    },
  };
}
