import { runAttempt, STOP_REASONS } from '@niyanta/worker-sdk';
import type { AttemptHost } from '@niyanta/worker-sdk';
import { builtinWorkloads } from '../src/workloads/index.js';
import { createExecWorkload } from '../src/workloads/exec.js';

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

const exec = createExecWorkload(['sh']);
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
        args: ['-c', 'printf "a\\r\\nb\\n$GREETING in $(pwd)"'],
        env: { GREETING: 'hello' },
        cwd: '/tmp',
      },
      host,
    });
    expect(outcome).toEqual({ outcome: 'succeeded', result: { exitCode: 0 } });
    expect(lines).toEqual([
      { stream: 'stdout', line: 'a' },
      { stream: 'stdout', line: 'b' },
      { stream: 'stdout', line: 'hello in /tmp' },
    ]);
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
    const any = createExecWorkload('*');
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
    const outcome = await runAttempt(createExecWorkload('*'), {
      ...base,
      input: { command: '/bin/sh', args: ['-c', 'exit 0'], env: { PATH: '/usr/bin:/bin' } },
      host: recordingHost().host,
    });
    expect(outcome).toEqual({ outcome: 'succeeded', result: { exitCode: 0 } });
  });
});

describe('builtinWorkloads', () => {
  it('includes exec only when an allow list is set', () => {
    expect(builtinWorkloads({ execAllow: undefined }).map((d) => d.type)).toEqual([
      'noop',
      'sleep',
    ]);
    expect(builtinWorkloads({ execAllow: '*' }).map((d) => d.type)).toEqual([
      'noop',
      'sleep',
      'exec',
    ]);
  });
});
