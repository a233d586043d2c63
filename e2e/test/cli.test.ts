import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { WorkloadV1 } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { E2E_ROOT_KEY, startSystem } from './support/system.js';
import type { System } from './support/system.js';

const run = promisify(execFile);
const BIN = resolve(__dirname, '../../libs/cli/bin/niyanta.js');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

// The built `niyanta` binary as a child process against every service as its own process.
describe('niyanta CLI', () => {
  let sys: System;
  let dir: string;
  let env: Record<string, string>;

  const cli = async (
    args: string[],
    extraEnv: Record<string, string | undefined> = {},
  ): Promise<Ran> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
        env: { ...env, ...extraEnv } as NodeJS.ProcessEnv,
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: unknown; stdout: string; stderr: string };
      if (typeof e.code !== 'number') throw err;
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const json = <T>(r: Ran): T => {
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };

  beforeAll(async () => {
    sys = await startSystem({ workers: [{ id: 'w-cli-1', slots: 8 }] });
    dir = await mkdtemp(join(tmpdir(), 'niyanta-cli-'));
    env = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      NIYANTA_URL: sys.apiUrl,
      NIYANTA_API_KEY: E2E_ROOT_KEY,
      NIYANTA_CONFIG: join(dir, 'config.json'),
    };
  }, 120_000);
  afterAll(async () => {
    await sys?.[Symbol.asyncDispose]();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('submit --wait prints status lines and the result, exit 0', async () => {
    const r = await cli([
      'submit',
      'sleep',
      '--input',
      '{"durationMs": 300, "steps": 3}',
      '--wait',
    ]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^submitted [0-9a-f-]{36} \(sleep\)/);
    expect(r.stdout).toMatch(/RUNNING/);
    expect(r.stdout).toMatch(/RUNNING → COMPLETED/);
    expect(r.stdout).toMatch(/result: /);
    // Not a terminal: no colours, no progress bar.
    expect(r.stdout).not.toContain('\x1b[');
    expect(r.stdout).not.toContain('█');
  });

  it('submit --wait exits 1 with the error when the workload fails', async () => {
    const input = join(dir, 'failing.json');
    await writeFile(input, JSON.stringify({ durationMs: 10, failTimes: 3 }));
    const r = await cli([
      'submit',
      'sleep',
      '--input',
      `@${input}`,
      '--max-attempts',
      '1',
      '--wait',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\d\d:\d\d:\d\d {2}(\S+ → )?FAILED/);
    expect(r.stderr).toMatch(/^error: /);
  });

  it('exits 2 on usage errors, 3 on API errors with the field, 4 when it cannot connect', async () => {
    const usage = await cli(['submit', 'sleep', '--priority', 'high']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--priority');
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['ls', '--bogus'])).code).toBe(2);

    const api = await cli(['submit', 'sleep', '--idempotency-key', '']);
    expect(api.code).toBe(3);
    expect(api.stderr).toMatch(/^error: 400 /);
    expect(api.stderr).toContain('/idempotencyKey');

    const down = await cli(['ls'], { NIYANTA_URL: 'http://127.0.0.1:9' });
    expect(down.code).toBe(4);
    expect(down.stderr).toContain('cannot reach the Niyanta API at http://127.0.0.1:9');
  });

  it('get, ls and workers answer in table, json and yaml', async () => {
    const type = `cli-ls-${Date.now().toString(36)}`;
    const submitted = json<WorkloadV1>(
      await cli(['submit', type, '--priority', '7', '--label', 'team=video', '-o', 'json']),
    );
    expect(submitted).toMatchObject({ type, priority: 7, labels: { team: 'video' } });
    const got = json<WorkloadV1>(await cli(['get', submitted.id, '-o', 'json']));
    expect(got.id).toBe(submitted.id);
    const yaml = await cli(['get', submitted.id, '--output', 'yaml']);
    expect((parseYaml(yaml.stdout) as WorkloadV1).id).toBe(submitted.id);
    const table = await cli(['get', submitted.id]);
    expect(table.stdout).toMatch(new RegExp(`^id\\s+${submitted.id}$`, 'm'));

    const listed = json<{ items: WorkloadV1[] }>(await cli(['ls', '--type', type, '-o', 'json']));
    expect(listed.items.map((w) => w.id)).toEqual([submitted.id]);
    const lsTable = await cli(['ls', '--type', type, '--status', 'pending']);
    expect(lsTable.stdout.split('\n')[0]).toMatch(
      /^ID\s+TYPE\s+STATUS\s+PRI\s+PROGRESS\s+AGE\s+WORKER/,
    );
    expect(lsTable.stdout).toContain(submitted.id);

    const workers = json<{ id: string }[]>(await cli(['workers', '-o', 'json']));
    expect(workers.map((w) => w.id)).toContain('w-cli-1');
  });

  it('ls --watch shows a new workload without being asked again; Ctrl-C exits 0', async () => {
    const type = `cli-watch-${Date.now().toString(36)}`;
    const child = spawn(process.execPath, [BIN, 'ls', '--watch', '--type', type], { env });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    let id = '';
    try {
      await waitFor(() => stdout.includes('(none)'), { timeoutMs: 20_000 });
      id = (await sys.submit({ type, input: {} })).id;
      await waitFor(() => stdout.includes(id), { timeoutMs: 20_000 });
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stdout).toMatch(new RegExp(`^ID\\s+TYPE\\s+STATUS[^\\n]*\\n${id}\\s+${type}`, 'm'));
  });

  it('cancels, and answers 3 for a workload that already ended', async () => {
    const w = json<WorkloadV1>(
      await cli(['submit', 'sleep', '--input', '{"durationMs": 60000}', '-o', 'json']),
    );
    await sys.waitForStatus(w.id, 'RUNNING');
    const cancel = await cli(['cancel', w.id]);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain(`${w.id}  cancel requested`);
    await sys.waitForStatus(w.id, 'CANCELLED');
    const watched = await cli(['watch', w.id]);
    expect(watched.code).toBe(1);
    expect(watched.stdout).toContain('CANCELLED');
    const again = await cli(['cancel', w.id]);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('refused');
  });

  it('prints and follows the log lines of a run', async () => {
    const w = json<WorkloadV1>(
      await cli([
        'submit',
        'exec',
        '--input',
        '{"command": "echo", "args": ["hello from cli"]}',
        '-o',
        'json',
      ]),
    );
    const followed = await cli(['logs', w.id, '-f']);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toContain('hello from cli');
    const page = await cli(['logs', w.id, '-o', 'json']);
    expect(page.stdout).toContain('hello from cli');
  });

  it('manages tenants, keys and the audit chain', async () => {
    const tenant = `cli-${Date.now().toString(36)}`;
    expect((await cli(['tenants', 'create', tenant, '--rate', '50'])).code).toBe(0);
    const tenants = json<{ id: string }[]>(await cli(['tenants', 'ls', '-o', 'json']));
    expect(tenants.map((t) => t.id)).toContain(tenant);
    const key = json<{ id: string; key: string; role: string }>(
      await cli(['--tenant', tenant, 'keys', 'create', 'ci', '--role', 'viewer', '-o', 'json']),
    );
    expect(key.role).toBe('viewer');
    // The new key works (as the tenant's viewer), then stops working once revoked.
    expect((await cli(['ls'], { NIYANTA_API_KEY: key.key })).code).toBe(0);
    const keys = json<{ id: string }[]>(
      await cli(['--tenant', tenant, 'keys', 'ls', '-o', 'json']),
    );
    expect(keys.map((k) => k.id)).toContain(key.id);
    expect((await cli(['--tenant', tenant, 'keys', 'revoke', key.id])).code).toBe(0);
    const refused = await cli(['ls'], { NIYANTA_API_KEY: key.key });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^error: 401 /);
    const audit = await cli(['audit', 'verify']);
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/^ok: \d+ entries/);
  });

  it('explains placement, or says clearly that this API has no placement route', async () => {
    const w = json<WorkloadV1>(await cli(['submit', 'noop', '-o', 'json']));
    const doc = (await (await fetch(`${sys.apiUrl}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    const r = await cli(['placement', w.id]);
    // The route comes with the placement framework; an API without it answers 404.
    if (doc.paths['/v1/workloads/{id}/placement'] === undefined) {
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('this API has no placement explanation yet');
      return;
    }
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Status {5}[A-Z]+$/m);
    const j = await cli(['placement', w.id, '-o', 'json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ status: expect.any(String) });
  });

  it('keeps named contexts in the config file and uses the current one', async () => {
    const set = await cli([
      'context',
      'set',
      'local',
      '--url',
      sys.apiUrl,
      '--api-key',
      E2E_ROOT_KEY,
    ]);
    expect(set.code).toBe(0);
    await cli(['context', 'set', 'nowhere', '--url', 'http://127.0.0.1:9']);
    const noEnv = { NIYANTA_URL: undefined, NIYANTA_API_KEY: undefined };
    expect((await cli(['ls'], noEnv)).code).toBe(0);
    expect((await cli(['context', 'use', 'nowhere'], noEnv)).code).toBe(0);
    expect((await cli(['ls'], noEnv)).code).toBe(4);
    expect((await cli(['ls', '--context', 'local'], noEnv)).code).toBe(0);
    expect((await cli(['context', 'use', 'missing'], noEnv)).code).toBe(2);
    const ls = await cli(['context', 'ls'], noEnv);
    expect(ls.stdout).toMatch(/^\*\s+nowhere/m);
  });

  it('has --help with examples for every command, and bash completion', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    const commandList = help.stdout.split('Commands:\n')[1]!.split('\n\n')[0]!;
    const names = [...commandList.matchAll(/^ {2}([a-z]+(?: [a-z]+)?)(?= [<|]| {2})/gm)]
      .map((m) => m[1]!)
      .filter((n) => n !== 'completion bash');
    expect(names.length).toBeGreaterThanOrEqual(19);
    for (const name of names) {
      const r = await cli([...name.split(' '), '--help']);
      expect({ name, code: r.code, examples: r.stdout.includes('Examples:\n  niyanta ') }).toEqual({
        name,
        code: 0,
        examples: true,
      });
    }
    const bash = await cli(['completion', 'bash']);
    await run('bash', ['-n', '-c', bash.stdout]);
    expect(bash.stdout).toContain('complete -o default -F _niyanta niyanta');
    expect((await cli(['completion', 'zsh'])).stdout).toContain('#compdef niyanta');
  });

  it('draws a progress bar and colours in a terminal, and no colours with NO_COLOR', async () => {
    const command = `${process.execPath} ${BIN} submit sleep --input '{"durationMs": 1500, "steps": 10}' --wait`;
    const inPty = async (extra: Record<string, string>) =>
      (
        await run('script', ['-qfec', command, '/dev/null'], {
          env: { ...env, TERM: 'xterm', ...extra },
        })
      ).stdout;
    const colourful = await inPty({});
    expect(colourful).toMatch(/\[█+░*\] +\d+%/);
    expect(colourful).toContain('[██████████████████████████████████████████] 100%'.slice(0, 10));
    expect(colourful).toContain('\x1b[32mCOMPLETED\x1b[39m');
    expect(colourful).toContain('\r\x1b[2K');
    const plain = await inPty({ NO_COLOR: '1' });
    expect(plain).toMatch(/\[█+░*\] +\d+%/);
    expect(plain).not.toMatch(new RegExp(`${String.fromCharCode(27)}\\[\\d+m`));
    expect(plain).toContain('COMPLETED');
  });
});
