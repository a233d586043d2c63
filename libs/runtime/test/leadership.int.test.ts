import { join } from 'node:path';
import { createDb } from '@niyanta/db';
import { createTestDatabase, startNodeProcess, waitFor } from '@niyanta/testing';
import type { ServiceProcess } from '@niyanta/testing';
import { sql } from 'kysely';
import { FENCED_SQLSTATE } from '../src/leadership.js';
import { startPausableProxy } from './pausable-proxy.js';

// Real processes against a real PostgreSQL: the fixture leads with the library as built (dist).
const FIXTURE = join(__dirname, 'fixtures', 'fenced-writer.mjs');

const started: ServiceProcess[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.kill('SIGKILL').catch(() => undefined)));
});

async function writer(url: string, id: string): Promise<ServiceProcess> {
  const proc = await startNodeProcess(FIXTURE, {
    name: id,
    env: { DATABASE_URL: url, INSTANCE_ID: id },
  });
  started.push(proc);
  return proc;
}

/** The fixture's log lines, parsed. */
function records(proc: ServiceProcess): { msg?: string; epoch?: number; fenced?: boolean }[] {
  return proc.lines().flatMap((l) => {
    try {
      return [JSON.parse(l) as { msg?: string; epoch?: number; fenced?: boolean }];
    } catch {
      return [];
    }
  });
}

describe('leadership', () => {
  it('refuses the writes of a leader paused past a takeover (SIGSTOP, SIGCONT)', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 2 });
    try {
      const a = await writer(database.url, 'a');
      await a.waitForLine(/"msg":"write committed"/, 20_000);
      const b = await writer(database.url, 'b');
      await b.waitForLine(/standing by for leadership/, 20_000);

      a.signal('SIGSTOP');
      // PostgreSQL ends a's silent election session; b takes the lock and raises the epoch.
      const epoch = await waitFor(
        async () => {
          const row = await db
            .selectFrom('leadership')
            .select(['epoch', 'instance_id', 'since'])
            .where('service', '=', 'scheduler')
            .executeTakeFirst();
          return row?.instance_id === 'b' ? row : undefined;
        },
        { timeoutMs: 20_000, message: 'b to take over' },
      );
      expect(Number(epoch.epoch)).toBe(2);
      await b.waitForLine(
        /"msg":"write committed","epoch":2|"epoch":2.*"msg":"write committed"/,
        20_000,
      );
      a.signal('SIGCONT');

      await a.waitForLine(/"msg":"stopped leading; standing by"/, 20_000);
      const refused = records(a).filter((r) => r.msg === 'write refused');
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.every((r) => r.epoch === 1)).toBe(true);
      expect(refused).toEqual(expect.arrayContaining([expect.objectContaining({ fenced: true })]));

      // Nothing of epoch 1 was committed after the takeover; epoch 2 goes on writing.
      const late = await sql<{ n: number }>`
        select count(*)::int as n from workload_events
        where attempt = 1 and at >= ${epoch.since}`.execute(db);
      expect(late.rows[0]!.n).toBe(0);
      const committedByA = records(a).filter((r) => r.msg === 'write committed').length;
      const rowsOfA = await db
        .selectFrom('workload_events')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('attempt', '=', 1)
        .executeTakeFirstOrThrow();
      expect(Number(rowsOfA.n)).toBe(committedByA);
    } finally {
      await db.destroy();
    }
  });

  it("hands the lead over when the leader's connection stalls, and refuses its writes after", async () => {
    await using database = await createTestDatabase();
    const target = new URL(database.url);
    await using proxy = await startPausableProxy(Number(target.port));
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    const db = createDb(database.url, { max: 2 });
    try {
      const a = await writer(viaProxy.toString(), 'a');
      await a.waitForLine(/"msg":"write committed"/, 20_000);
      const b = await writer(database.url, 'b');
      await b.waitForLine(/standing by for leadership/, 20_000);

      proxy.pause(); // a's connections stay open, but nothing reaches PostgreSQL or comes back
      const line = await b.waitForLine(/"msg":"leading"/, 30_000);
      expect(JSON.parse(line)).toMatchObject({ epoch: 2, instanceId: 'b' });
      await a.waitForLine(/"msg":"leadership lost; stepping down"/, 30_000);
      proxy.resume();

      await a.waitForLine(/"msg":"stopped leading; standing by"/, 30_000);
      const refused = records(a).filter((r) => r.msg === 'write refused');
      expect(refused).toEqual(expect.arrayContaining([expect.objectContaining({ fenced: true })]));
      const since = await db
        .selectFrom('leadership')
        .select('since')
        .where('service', '=', 'scheduler')
        .executeTakeFirstOrThrow();
      const late = await sql<{ n: number }>`
        select count(*)::int as n from workload_events
        where attempt = 1 and at >= ${since.since}`.execute(db);
      expect(late.rows[0]!.n).toBe(0);
    } finally {
      await db.destroy();
    }
  });

  it('hands the lead to a standby when the leader is killed (SIGKILL)', async () => {
    await using database = await createTestDatabase();
    const a = await writer(database.url, 'a');
    await a.waitForLine(/"msg":"write committed"/, 20_000);
    const b = await writer(database.url, 'b');
    await b.waitForLine(/standing by for leadership/, 20_000);
    await a.kill('SIGKILL');
    const line = await b.waitForLine(/"msg":"leading"/, 20_000);
    expect(JSON.parse(line)).toMatchObject({ epoch: 2, instanceId: 'b' });
    await b.waitForLine(/"msg":"write committed"/, 20_000);
  });
});

describe('the leadership fence', () => {
  it('refuses a write from a session whose epoch is not the current one', async () => {
    await using database = await createTestDatabase();
    const admin = createDb(database.url, { max: 1 });
    const stale = createDb(database.url, {
      max: 1,
      sessionSettings: { 'niyanta.leader': 'health-monitor:1' },
    });
    const current = createDb(database.url, {
      max: 1,
      sessionSettings: { 'niyanta.leader': 'health-monitor:2' },
    });
    try {
      await admin
        .insertInto('leadership')
        .values({ service: 'health-monitor', epoch: 2, instance_id: 'x' })
        .execute();
      const write = (db: typeof admin) =>
        db.deleteFrom('workers').where('id', '=', 'nobody').execute();
      await expect(write(stale)).rejects.toMatchObject({
        code: FENCED_SQLSTATE,
        message: expect.stringMatching(
          /health-monitor at epoch 1 was superseded \(current epoch 2\)/,
        ),
      });
      await expect(write(current)).resolves.toBeDefined();
      await expect(write(admin)).resolves.toBeDefined(); // unfenced: not a leader's session
    } finally {
      await Promise.all([admin.destroy(), stale.destroy(), current.destroy()]);
    }
  });
});
