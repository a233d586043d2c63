import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { startSystem } from './support/system.js';
import type { System } from './support/system.js';

const MODULES = join(__dirname, 'fixtures', 'workloads', 'secrets');
const key = () => randomBytes(32).toString('base64');
const SECRETS_KEY = `k1:${key()}`;
// A value no service could print by chance, and its encodings a leak could take.
const SECRET = `plaintext-${randomBytes(12).toString('hex')}`;
const SECRET_SHA256 = createHash('sha256').update(SECRET).digest('hex');

let sys: System;

beforeAll(async () => {
  sys = await startSystem({
    // SECRETS_KEY reaches every service here; only the API and the workers read it.
    env: { SECRETS_KEY, LOG_LEVEL: 'debug' },
    workers: [{ id: 'e2e-keyed', slots: 2, memoryMb: 4096, env: { WORKLOAD_MODULES: MODULES } }],
  });
}, 120_000);

afterAll(async () => {
  await sys?.[Symbol.asyncDispose]();
});

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

const needles = [
  Buffer.from(SECRET),
  Buffer.from(Buffer.from(SECRET).toString('base64')),
  Buffer.from(SECRET.slice(10)),
];

describe('secrets', () => {
  it('reach a handler and an exec child, and their plaintext is nowhere else', async () => {
    expect((await sys.api('PUT', '/v1/secrets/api-token', { value: SECRET })).status).toBe(204);
    const list = await sys.api<{ items: unknown[] }>('GET', '/v1/secrets');
    expect(list.body.items).toEqual([{ name: 'api-token', updatedAt: expect.any(String) }]);

    const handler = await sys.submit({
      type: 'uses-secret',
      input: { name: 'api-token' },
      secrets: ['api-token'],
    });
    const exec = await sys.submit({
      type: 'exec',
      input: {
        command: 'sh',
        args: ['-c', 'echo "token $TOKEN"; printf %s "$TOKEN" | sha256sum'],
        secretEnv: { TOKEN: 'api-token' },
      },
      secrets: ['api-token'],
    });
    const failing = await sys.submit({
      type: 'uses-secret',
      input: { name: 'api-token', fail: true },
      secrets: ['api-token'],
      maxAttempts: 1,
    });
    const doneFailing = await sys.waitForStatus(failing.id, ['COMPLETED', 'FAILED']);
    expect(doneFailing.error?.message).toBe('refused with [REDACTED]');
    const doneHandler = await sys.waitForStatus(handler.id, ['COMPLETED', 'FAILED']);
    expect(doneHandler.result).toEqual({ sha256: SECRET_SHA256, length: SECRET.length });
    const doneExec = await sys.waitForStatus(exec.id, ['COMPLETED', 'FAILED']);
    expect(doneExec.status).toBe('COMPLETED');

    // The values were there, and redacted from the logs.
    const lines = async (id: string) =>
      (
        await sys.api<{ items: { line: string }[] }>('GET', `/v1/workloads/${id}/logs`)
      ).body.items.map((l) => l.line);
    expect(await lines(handler.id)).toContainEqual('the secret is [REDACTED]');
    const execLines = await lines(exec.id);
    expect(execLines).toContainEqual('token [REDACTED]');
    expect(execLines.some((l) => l.startsWith(SECRET_SHA256))).toBe(true);

    // An unknown secret is a 400 at submit.
    const unknown = await sys.api<{ errors: { path: string }[] }>('POST', '/v1/workloads', {
      type: 'uses-secret',
      input: { name: 'nope' },
      secrets: ['nope'],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([expect.objectContaining({ path: '/secrets/0' })]);

    // The broker's store: every stream file of the test's own nats-server.
    const files = await filesUnder(sys.nats.storeDir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const bytes = await readFile(file);
      for (const needle of needles)
        expect({ file, found: bytes.includes(needle) }).toEqual({
          file,
          found: false,
        });
    }

    // PostgreSQL: every row of every table, as text.
    const tables = await sql<{ name: string }>`
      select quote_ident(table_name) as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(sys.db);
    expect(tables.rows.map((t) => t.name)).toContain('secrets');
    for (const { name } of tables.rows) {
      const { rows } = await sql<{
        t: string;
      }>`select t::text as t from ${sql.raw(name)} t`.execute(sys.db);
      const text = rows.map((r) => r.t).join('\n');
      for (const needle of needles)
        expect({ name, found: text.includes(needle.toString()) }).toEqual({
          name,
          found: false,
        });
    }

    // Every service's log output.
    for (const [name, proc] of sys.services) {
      const out = proc.output();
      expect(out.length).toBeGreaterThan(0);
      for (const needle of needles)
        expect({ name, found: out.includes(needle.toString()) }).toEqual({ name, found: false });
    }
  }, 60_000);

  it('fails the run with a clear code on a worker whose SECRETS_KEY differs', async () => {
    // The only worker with memory for 8000 MB, and a SECRETS_KEY that is not the API's.
    await sys.startWorker({
      id: 'e2e-wrong-key',
      slots: 1,
      memoryMb: 16_384,
      env: { WORKLOAD_MODULES: MODULES, SECRETS_KEY: `k1:${key()}` },
    });
    expect((await sys.api('PUT', '/v1/secrets/other', { value: SECRET })).status).toBe(204);
    const w = await sys.submit({
      type: 'uses-secret',
      input: { name: 'other' },
      secrets: ['other'],
      requirements: { memoryMb: 8000 },
      maxAttempts: 1,
    });
    const done = await sys.waitForStatus(w.id, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('FAILED');
    expect(done.workerId).toBe('e2e-wrong-key');
    expect(done.error).toMatchObject({ code: 'SECRET_UNREADABLE', retryable: false });
    expect(done.error?.message).toContain('SECRETS_KEY');
    // The worker is still up and running work.
    const after = await sys.submit({
      type: 'uses-secret',
      input: { name: 'other' },
      secrets: [],
      requirements: { memoryMb: 8000 },
      maxAttempts: 1,
    });
    const next = await sys.waitForStatus(after.id, ['COMPLETED', 'FAILED']);
    expect(next.error).toMatchObject({ message: expect.stringContaining('no secret other') });
  }, 60_000);
});
