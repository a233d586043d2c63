import { runAttempt, STOP_REASONS } from '@niyanta/worker-sdk';
import type { AttemptHost } from '@niyanta/worker-sdk';
import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import {
  builtinWorkloads,
  createExecWorkload,
  EXEC_LINE_MAX_CHARS,
  resolveExecAllow,
} from '../src/workloads/index.js';
import type { ExecOptions } from '../src/workloads/index.js';

function recordingHost() {
  const lines: { stream: string; line: string }[] = [];
  const host: AttemptHost = {
    progress: () => undefined,
    log: (stream, line) => void lines.push({ stream, line }),
    checkpoint: async () => undefined,
  };
  return { host, lines };
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let workdir: string;
beforeAll(async () => {
  workdir = await mkdtemp(join(os.tmpdir(), 'exec-test-'));
});
afterAll(async () => {
  await rm(workdir, { recursive: true, force: true });
});

/** Options as the worker builds them from its config (and this process's environment). */
function options(allow: string[] | '*', env: Record<string, string> = {}): ExecOptions {
  const config = loadConfig({
    ...(process.env as Record<string, string>),
    WORKER_EXEC_ALLOW: allow === '*' ? '*' : allow.join(','),
    WORKER_EXEC_WORKDIR: workdir,
    ...env,
  });
  return {
    allow: allow === '*' ? '*' : resolveExecAllow(allow, config.execInheritedEnv.PATH ?? ''),
    inheritedEnv: config.execInheritedEnv,
    workdir: config.execWorkdir,
    maxLogBytes: config.execMaxLogBytes,
  };
}

const exec = createExecWorkload({
  allow: new Map([['sh', '/bin/sh']]),
  inheritedEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  workdir: join(os.tmpdir(), 'exec-test-shared'),
  maxLogBytes: 10 * 1024 * 1024,
});
const base = { workloadId: 'w', attempt: 1 };

describe('exec workload', () => {
  it('streams stdout and stderr lines and fails with the exit code', async () => {
    const { host, lines } = recordingHost();
    const outcome = await runAttempt(exec, {
      ...base,
      input: { command: 'sh', args: ['-c', 'echo hi; echo err 1>&2; exit 3'] },
      host,
    });
    expect(outcome).toEqual({
      outcome: 'failed',
      error: {
        message: 'command exited with code 3',
        code: 'EXIT_CODE_3',
        retryable: true,
        details: { exitCode: 3 },
      },
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        { stream: 'stdout', line: 'hi' },
        { stream: 'stderr', line: 'err' },
      ]),
    );
    expect(lines).toHaveLength(2);
  });

  it('succeeds on exit code 0, passing env and cwd, and flushes a last line without newline', async () => {
    const { host, lines } = recordingHost();
    const outcome = await runAttempt(exec, {
      ...base,
      input: {
        command: 'sh',
        args: ['-c', 'printf "a\\r\\nb\\n$GREETING in $(pwd) home $HOME"'],
        env: { GREETING: 'hello' },
        cwd: 'sub/dir',
      },
      host,
    });
    expect(outcome).toEqual({ outcome: 'succeeded', result: { exitCode: 0 } });
    expect(lines.slice(0, 2)).toEqual([
      { stream: 'stdout', line: 'a' },
      { stream: 'stdout', line: 'b' },
    ]);
    expect(lines).toHaveLength(3);
    const match = /^hello in (\S+) home (\S+)$/.exec(lines[2]!.line);
    expect(match).not.toBeNull();
    const [, cwd, home] = match!;
    // A fresh directory of its own under the workdir, HOME included, removed after the run.
    expect(cwd).toBe(`${home}/sub/dir`);
    expect(home!.startsWith(join(os.tmpdir(), 'exec-test-shared', 'run-'))).toBe(true);
    expect(await readdir(join(os.tmpdir(), 'exec-test-shared'))).toEqual([]);
  });

  it('refuses a command that is not allowed, naming it and WORKER_EXEC_ALLOW', async () => {
    const outcome = await runAttempt(exec, {
      ...base,
      input: { command: 'rm', args: ['-rf', '/nope'] },
      host: recordingHost().host,
    });
    expect(outcome).toMatchObject({
      outcome: 'failed',
      error: { code: 'COMMAND_NOT_ALLOWED', retryable: false },
    });
    if (outcome.outcome !== 'failed') return;
    expect(outcome.error.message).toContain('"rm"');
    expect(outcome.error.message).toContain('WORKER_EXEC_ALLOW');
  });

  it('fails non-retryably with COMMAND_NOT_FOUND when the command does not exist', async () => {
    const any = createExecWorkload(options('*'));
    const outcome = await runAttempt(any, {
      ...base,
      input: { command: 'niyanta-no-such-command' },
      host: recordingHost().host,
    });
    expect(outcome).toMatchObject({
      outcome: 'failed',
      error: {
        code: 'COMMAND_NOT_FOUND',
        retryable: false,
        message: expect.stringContaining('niyanta-no-such-command'),
      },
    });
  });

  it('kills the child (and its children) when cancelled', async () => {
    const { host, lines } = recordingHost();
    const controller = new AbortController();
    const attempt = runAttempt(exec, {
      ...base,
      // The inner sleep is a grandchild: `wait` keeps sh from exec-ing into it.
      input: { command: 'sh', args: ['-c', 'sleep 30 & echo "$! $$"; wait'] },
      signal: controller.signal,
      host,
    });
    await waitFor(() => lines.length > 0);
    const pids = lines[0]!.line.split(' ').map(Number);
    expect(pids).toHaveLength(2);
    expect(pids.every(isAlive)).toBe(true);
    const cancelledAt = Date.now();
    controller.abort(STOP_REASONS.cancel);
    expect(await attempt).toEqual({ outcome: 'cancelled' });
    expect(Date.now() - cancelledAt).toBeLessThan(2000);
    await waitFor(() => !pids.some(isAlive));
  });

  it('matches the allow list exactly: a path ending in an allowed name is refused', async () => {
    // Only "sh" is allowed: "/tmp/x/sh" (or even "/bin/sh") is another program as far as the list goes.
    for (const command of ['/bin/sh', '/tmp/evil/sh']) {
      const outcome = await runAttempt(exec, {
        ...base,
        input: { command, args: ['-c', 'exit 0'] },
        host: recordingHost().host,
      });
      expect(outcome).toMatchObject({ outcome: 'failed', error: { code: 'COMMAND_NOT_ALLOWED' } });
    }
  });

  it('looks an allowed name up on the worker PATH, and refuses env that steers the program', async () => {
    const { host, lines } = recordingHost();
    // An input PATH must not redirect "sh" to a planted program.
    const refused = await runAttempt(exec, {
      ...base,
      input: { command: 'sh', args: ['-c', 'echo ok'], env: { PATH: '/tmp/evil' } },
      host,
    });
    expect(refused).toMatchObject({ outcome: 'failed', error: { code: 'ENV_NOT_ALLOWED' } });
    for (const key of ['LD_PRELOAD', 'NODE_OPTIONS']) {
      const out = await runAttempt(exec, {
        ...base,
        input: { command: 'sh', args: ['-c', 'exit 0'], env: { [key]: '/tmp/evil.so' } },
        host,
      });
      expect(out).toMatchObject({ outcome: 'failed', error: { code: 'ENV_NOT_ALLOWED' } });
    }
    const ok = await runAttempt(exec, {
      ...base,
      input: { command: 'sh', args: ['-c', 'echo "$GREETING"'], env: { GREETING: 'hello' } },
      host,
    });
    expect(ok).toEqual({ outcome: 'succeeded', result: { exitCode: 0 } });
    expect(lines).toContainEqual({ stream: 'stdout', line: 'hello' });
  });

  it("lets '*' run any path with any env", async () => {
    const outcome = await runAttempt(createExecWorkload(options('*')), {
      ...base,
      input: { command: '/bin/sh', args: ['-c', 'exit 0'], env: { PATH: '/usr/bin:/bin' } },
      host: recordingHost().host,
    });
    expect(outcome).toEqual({ outcome: 'succeeded', result: { exitCode: 0 } });
  });
});

describe('exec sandbox', () => {
  const secrets = {
    AWS_SECRET_ACCESS_KEY: 'aws-secret-value-1',
    AWS_ACCESS_KEY_ID: 'aws-key-id-value-2',
    S3_SECRET_ACCESS_KEY: 's3-secret-value-3',
    DATABASE_URL: 'postgres://u:db-password-4@h/db',
    NATS_USER: 'nats-user-6',
    NATS_PASSWORD: 'nats-password-5',
    SECRETS_KEY: `k7:${Buffer.alloc(32, 7).toString('base64')}`,
  };

  it("gives the child only PATH, HOME, LANG, TZ, passed names and the input's env", async () => {
    const opts = options(['sh'], {
      ...secrets,
      LANG: 'C.UTF-8',
      TZ: 'UTC',
      KEEP_ME: 'kept',
      WORKER_EXEC_ENV_PASS: 'KEEP_ME',
    });
    const { host, lines } = recordingHost();
    const outcome = await runAttempt(createExecWorkload(opts), {
      ...base,
      input: { command: 'sh', args: ['-c', 'env'], env: { GREETING: 'hi' } },
      host,
    });
    expect(outcome).toEqual({ outcome: 'succeeded', result: { exitCode: 0 } });
    const names = lines.map((l) => l.line.slice(0, l.line.indexOf('=')));
    // sh itself adds PWD, SHLVL and _ (dash, bash).
    const fromShell = new Set(['PWD', 'SHLVL', '_', 'OLDPWD']);
    expect(names.filter((n) => !fromShell.has(n)).sort()).toEqual(
      ['GREETING', 'HOME', 'KEEP_ME', 'LANG', 'PATH', 'TZ'].sort(),
    );
    const output = lines.map((l) => l.line).join('\n');
    for (const value of Object.values(secrets)) expect(output).not.toContain(value);
  });

  it("refuses a cwd outside the run's directory", async () => {
    for (const cwd of ['..', '../../etc', '/etc', 'a/../../..']) {
      const outcome = await runAttempt(exec, {
        ...base,
        input: { command: 'sh', args: ['-c', 'pwd'], cwd },
        host: recordingHost().host,
      });
      expect(outcome).toMatchObject({
        outcome: 'failed',
        error: { code: 'CWD_OUTSIDE_WORKDIR', retryable: false },
      });
    }
  });

  it('resolves the workdir through symlinks and keeps cwd inside it', async () => {
    const link = join(workdir, 'link');
    await symlink(workdir, link);
    const { host, lines } = recordingHost();
    const opts = { ...options(['sh']), workdir: link };
    const outcome = await runAttempt(createExecWorkload(opts), {
      ...base,
      input: { command: 'sh', args: ['-c', 'pwd'], cwd: 'x' },
      host,
    });
    expect(outcome).toEqual({ outcome: 'succeeded', result: { exitCode: 0 } });
    expect(lines[0]!.line.startsWith(`${workdir}/run-`)).toBe(true);
    await rm(link);
  });

  it('refuses loader and interpreter hooks under an allow list', async () => {
    for (const key of [
      'LD_AUDIT',
      'DYLD_INSERT_LIBRARIES',
      'PYTHONSTARTUP',
      'PERL5OPT',
      'RUBYOPT',
      'JAVA_TOOL_OPTIONS',
      '_JAVA_OPTIONS',
      'BASH_FUNC_x%%',
      'GCONV_PATH',
      'SHELLOPTS',
      'PS4',
      'IFS',
      'HOME',
      'GIT_SSH_COMMAND',
      'MALLOC_CHECK_',
      'TMPDIR',
    ]) {
      const outcome = await runAttempt(exec, {
        ...base,
        input: { command: 'sh', args: ['-c', 'exit 0'], secretEnv: { [key]: 'x' } },
        host: recordingHost().host,
      });
      expect(outcome).toMatchObject({ outcome: 'failed', error: { code: expect.any(String) } });
      if (outcome.outcome === 'failed') {
        expect(['ENV_NOT_ALLOWED', 'INVALID_INPUT']).toContain(outcome.error.code);
      }
    }
  });

  it('splits a line longer than 64 KiB', async () => {
    const { host, lines } = recordingHost();
    const size = EXEC_LINE_MAX_CHARS * 3 + 100;
    const outcome = await runAttempt(exec, {
      ...base,
      input: {
        command: 'sh',
        args: ['-c', `head -c ${size} /dev/zero | tr '\\0' x; echo; echo end`],
      },
      host,
    });
    expect(outcome).toEqual({ outcome: 'succeeded', result: { exitCode: 0 } });
    expect(lines.map((l) => l.line.length)).toEqual([
      EXEC_LINE_MAX_CHARS,
      EXEC_LINE_MAX_CHARS,
      EXEC_LINE_MAX_CHARS,
      100,
      3,
    ]);
  });

  it('caps the log at WORKER_EXEC_MAX_LOG_BYTES and notes what it dropped', async () => {
    const { host, lines } = recordingHost();
    const opts = options(['sh'], { WORKER_EXEC_MAX_LOG_BYTES: '4096' });
    const outcome = await runAttempt(createExecWorkload(opts), {
      ...base,
      // 10,000 lines of 8 bytes (with the newline): 80,000 bytes.
      input: {
        command: 'sh',
        args: ['-c', 'i=0; while [ $i -lt 10000 ]; do echo "l$((i+1000000))"; i=$((i+1)); done'],
      },
      host,
    });
    expect(outcome).toEqual({ outcome: 'succeeded', result: { exitCode: 0 } });
    const out = lines.filter((l) => l.stream === 'stdout');
    expect(out).toHaveLength(Math.floor(4096 / 9));
    expect(lines.at(-1)).toEqual({
      stream: 'warn',
      line: `output over WORKER_EXEC_MAX_LOG_BYTES (4096 bytes): ${(10000 - out.length) * 9} bytes in ${10000 - out.length} lines dropped`,
    });
  });

  it('pauses a child that writes faster than the host takes its lines', async () => {
    let received = 0;
    let open = false;
    let waited = 0;
    let release: () => void = () => undefined;
    const host: AttemptHost = {
      progress: () => undefined,
      log: (_stream, line) => void (received += line.length + 1),
      checkpoint: async () => undefined,
      // The host "sends" nothing until the test opens it: room only for the first MiB.
      hasLogRoom: () => open || received < 1024 * 1024,
      waitForLogRoom: () => {
        waited++;
        return new Promise<void>((resolve) => (release = resolve));
      },
    };
    const total = 64 * 1024 * 1024;
    const unbounded = createExecWorkload({ ...options(['sh']), maxLogBytes: 2 * total });
    const attempt = runAttempt(unbounded, {
      ...base,
      input: { command: 'sh', args: ['-c', `head -c ${total} /dev/zero | tr '\\0' 'y'`] },
      host,
    });
    await waitFor(() => waited === 1);
    const atPause = received;
    // Let the event loop run: a paused stream delivers nothing more.
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(received).toBe(atPause);
    expect(received).toBeLessThan(1024 * 1024 + 2 * EXEC_LINE_MAX_CHARS + 1);
    open = true;
    release();
    expect(await attempt).toEqual({ outcome: 'succeeded', result: { exitCode: 0 } });
    expect(received).toBe(total + Math.ceil(total / EXEC_LINE_MAX_CHARS));
  }, 30_000);
});

describe('exec config', () => {
  it('refuses a relative path in WORKER_EXEC_ALLOW and resolves bare names on PATH', () => {
    expect(() => loadConfig({ WORKER_EXEC_ALLOW: 'sh,./bin/tool' })).toThrow(
      /WORKER_EXEC_ALLOW has relative paths "\.\/bin\/tool"/,
    );
    const allow = resolveExecAllow(['sh', '/usr/bin/env'], '/usr/local/bin:/usr/bin:/bin');
    expect(allow.get('sh')).toMatch(/^\/(usr\/)?bin\/sh$/);
    expect(allow.get('/usr/bin/env')).toBe('/usr/bin/env');
    expect(() => resolveExecAllow(['niyanta-no-such-tool'], '/usr/bin:/bin')).toThrow(
      /"niyanta-no-such-tool", not found as an executable on the worker's PATH/,
    );
  });
});

describe('builtinWorkloads', () => {
  it('includes exec only when an allow list is set', () => {
    expect(builtinWorkloads({ exec: undefined }).map((d) => d.type)).toEqual(['noop', 'sleep']);
    expect(builtinWorkloads({ exec: options('*') }).map((d) => d.type)).toEqual([
      'noop',
      'sleep',
      'exec',
    ]);
  });
});
