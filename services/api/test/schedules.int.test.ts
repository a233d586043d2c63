import { STREAMS } from '@niyanta/messages';
import type { ScheduleV1, WorkloadBulkResultV1, WorkloadV1 } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { createKey, insertWorkload, request, startTwoTenants } from './identity-support.js';
import type { IdentityEnv } from './identity-support.js';

interface Problem {
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
}

let env: IdentityEnv;
let base: string;
let submitter: string;
let viewer: string;
let operator: string;
let other: string;

beforeAll(async () => {
  ({ env, base } = await startTwoTenants('sch-a', 'sch-b'));
  submitter = (await createKey(base, 'sch-a', 'submitter')).key;
  viewer = (await createKey(base, 'sch-a', 'viewer')).key;
  operator = (await createKey(base, 'sch-a', 'operator')).key;
  other = (await createKey(base, 'sch-b', 'admin')).key;
});

afterAll(async () => {
  await env?.close();
});

const nightly = {
  name: 'nightly report',
  cron: '0 2 * * *',
  timezone: 'Europe/Berlin',
  workload: { type: 'report', input: { day: 'yesterday' }, labels: { team: 'data' } },
  overlap: 'skip',
};

describe('schedules', () => {
  it('are created with their next 5 runs, read, listed, changed and deleted', async () => {
    const created = await request(base, 'POST', '/v1/schedules', { key: submitter, body: nightly });
    expect(created.status).toBe(201);
    const s = created.body as ScheduleV1;
    expect(created.headers.get('location')).toBe(`/v1/schedules/${s.id}`);
    expect(s).toMatchObject({
      tenant: 'sch-a',
      name: 'nightly report',
      timezone: 'Europe/Berlin',
      overlap: 'skip',
      catchUp: 0,
      paused: false,
      lastFireAt: null,
    });
    expect(s.nextRuns).toHaveLength(5);
    // 02:00 in Berlin is 00:00 or 01:00 UTC, one day apart each.
    for (const [i, t] of s.nextRuns.entries()) {
      expect(t).toMatch(/T0[01]:00:00\.000Z$/);
      if (i > 0)
        expect(Date.parse(t) - Date.parse(s.nextRuns[i - 1]!)).toBeGreaterThan(22 * 3600e3);
    }

    expect((await request(base, 'GET', `/v1/schedules/${s.id}`, { key: viewer })).body).toEqual(
      expect.objectContaining({ id: s.id, cron: '0 2 * * *' }),
    );
    const list = await request(base, 'GET', '/v1/schedules', { key: viewer });
    expect((list.body as { items: ScheduleV1[] }).items.map((i) => i.id)).toContain(s.id);

    const paused = await request(base, 'PATCH', `/v1/schedules/${s.id}`, {
      key: submitter,
      body: { paused: true, cron: '@hourly' },
    });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, cron: '@hourly', nextRuns: [] });

    expect(
      (await request(base, 'DELETE', `/v1/schedules/${s.id}`, { key: submitter })).status,
    ).toBe(204);
    expect((await request(base, 'GET', `/v1/schedules/${s.id}`, { key: viewer })).status).toBe(404);
  });

  it('refuse a bad cron, zone or workload naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ ...nightly, name: 'x1', cron: '61 * * * *' }, '/cron'],
      [{ ...nightly, name: 'x2', cron: '* * * * * *' }, '/cron'],
      [{ ...nightly, name: 'x3', cron: '@fortnightly' }, '/cron'],
      [{ ...nightly, name: 'x4', timezone: 'Mars/Olympus' }, '/timezone'],
      [
        { ...nightly, name: 'x5', workload: { ...nightly.workload, idempotencyKey: 'k' } },
        '/workload/idempotencyKey',
      ],
      [{ ...nightly, name: 'x6', workload: { input: {} } }, '/workload/type'],
      [{ ...nightly, name: 'x7', catchUp: 101 }, '/catchUp'],
      [{ ...nightly, name: 'x8', overlap: 'queue' }, '/overlap'],
    ];
    for (const [body, path] of cases) {
      const res = await request(base, 'POST', '/v1/schedules', { key: submitter, body });
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect((res.body as Problem).errors?.map((e) => e.path)).toContain(path);
    }
    const rows = await env.db
      .selectFrom('schedules')
      .select('name')
      .where('name', 'like', 'x%')
      .execute();
    expect(rows).toEqual([]);
  });

  it('refuse a workload naming dependencies the tenant does not have, at create and patch', async () => {
    const mine = await insertWorkload(env.db, 'sch-a');
    const theirs = await insertWorkload(env.db, 'sch-b');
    const bad = { ...nightly.workload, dependsOn: [mine, theirs] };
    const created = await request(base, 'POST', '/v1/schedules', {
      key: submitter,
      body: { ...nightly, name: 'deps-bad', workload: bad },
    });
    expect(created.status).toBe(400);
    expect((created.body as Problem).errors).toEqual([
      expect.objectContaining({
        path: '/workload/dependsOn/1',
        message: `no workload ${theirs} in tenant sch-a`,
      }),
    ]);
    // A schedule has no batch: a ref names nothing.
    const ref = await request(base, 'POST', '/v1/schedules', {
      key: submitter,
      body: { ...nightly, name: 'deps-ref', workload: { ...nightly.workload, dependsOn: ['a'] } },
    });
    expect(ref.status).toBe(400);
    expect((ref.body as Problem).errors?.map((e) => e.path)).toEqual(['/workload/dependsOn/0']);
    const good = await request(base, 'POST', '/v1/schedules', {
      key: submitter,
      body: { ...nightly, name: 'deps-good', workload: { ...nightly.workload, dependsOn: [mine] } },
    });
    expect(good.status).toBe(201);
    const id = (good.body as ScheduleV1).id;
    const patched = await request(base, 'PATCH', `/v1/schedules/${id}`, {
      key: submitter,
      body: { workload: { ...nightly.workload, dependsOn: [theirs] } },
    });
    expect(patched.status).toBe(400);
    expect((patched.body as Problem).errors?.map((e) => e.path)).toEqual(['/workload/dependsOn/0']);
    const kept = await request(base, 'GET', `/v1/schedules/${id}`, { key: submitter });
    expect((kept.body as ScheduleV1).workload).toMatchObject({ dependsOn: [mine] });
  });

  it('have unique names per tenant, obey roles and are invisible to other tenants', async () => {
    const body = { ...nightly, name: 'unique one' };
    const first = await request(base, 'POST', '/v1/schedules', { key: submitter, body });
    expect(first.status).toBe(201);
    const again = await request(base, 'POST', '/v1/schedules', { key: submitter, body });
    expect(again.status).toBe(409);
    expect((again.body as Problem).errors?.[0]?.path).toBe('/name');
    // Another tenant may use the name, and cannot see the first tenant's schedule.
    expect((await request(base, 'POST', '/v1/schedules', { key: other, body })).status).toBe(201);
    const id = (first.body as ScheduleV1).id;
    for (const [method, path] of [
      ['GET', `/v1/schedules/${id}`],
      ['PATCH', `/v1/schedules/${id}`],
      ['DELETE', `/v1/schedules/${id}`],
      ['POST', `/v1/schedules/${id}/trigger`],
    ] as const) {
      const res = await request(base, method, path, {
        key: other,
        ...(method === 'PATCH' ? { body: { paused: true } } : {}),
      });
      expect({ method, status: res.status }).toEqual({ method, status: 404 });
    }
    expect(
      (await request(base, 'POST', '/v1/schedules', { key: viewer, body: { ...body, name: 'v' } }))
        .status,
    ).toBe(403);
  });

  it('trigger submits the workload at once, listed by scheduleId', async () => {
    const created = await request(base, 'POST', '/v1/schedules', {
      key: submitter,
      body: { ...nightly, name: 'triggered' },
    });
    const s = created.body as ScheduleV1;
    const fired = await request(base, 'POST', `/v1/schedules/${s.id}/trigger`, { key: submitter });
    expect(fired.status).toBe(201);
    const w = fired.body as WorkloadV1;
    expect(w).toMatchObject({ type: 'report', scheduleId: s.id, labels: { team: 'data' } });
    expect(w.idempotencyKey).toMatch(new RegExp(`^schedule:${s.id}:\\d{4}-`));
    const listed = await request(base, 'GET', `/v1/workloads?scheduleId=${s.id}`, { key: viewer });
    expect((listed.body as { items: WorkloadV1[] }).items.map((i) => i.id)).toEqual([w.id]);
    const bad = await request(base, 'GET', '/v1/workloads?scheduleId=nope', { key: viewer });
    expect(bad.status).toBe(400);
  });

  it('keep the schedule: prefix of idempotency keys to firings', async () => {
    const res = await request(base, 'POST', '/v1/workloads', {
      key: submitter,
      body: { type: 'noop', input: {}, idempotencyKey: 'schedule:forged' },
    });
    expect(res.status).toBe(400);
    expect((res.body as Problem).errors?.[0]?.path).toBe('/idempotencyKey');
    const batch = await request(base, 'POST', '/v1/workloads/batch', {
      key: submitter,
      body: {
        workloads: [
          { type: 'noop', input: {} },
          { type: 'noop', input: {}, idempotencyKey: 'schedule:x' },
        ],
      },
    });
    expect(batch.status).toBe(400);
    expect((batch.body as Problem).errors?.[0]?.path).toBe('/workloads/1/idempotencyKey');
  });
});

describe('bulk commands', () => {
  async function commandsInStream(): Promise<number> {
    const info = await env.nats.jsm.streams.info(STREAMS.command.name);
    return info.state.messages;
  }

  it('send the command to every named workload whose status allows it', async () => {
    const pending = [await insertWorkload(env.db, 'sch-a'), await insertWorkload(env.db, 'sch-a')];
    const done = await insertWorkload(env.db, 'sch-a', 'COMPLETED');
    const foreign = await insertWorkload(env.db, 'sch-b');
    const before = await commandsInStream();
    const res = await request(base, 'POST', '/v1/workloads/cancel', {
      key: operator,
      body: { ids: [...pending, done, foreign], reason: 'cleanup' },
    });
    expect(res.status).toBe(202);
    const result = res.body as WorkloadBulkResultV1;
    expect(result).toMatchObject({ matched: 3, changed: 2 });
    expect(result.items).toEqual([
      { id: pending[0], status: 'PENDING', sent: true },
      { id: pending[1], status: 'PENDING', sent: true },
      { id: done, status: 'COMPLETED', sent: false },
      // Another tenant's workload is as if it did not exist.
      { id: foreign, status: 'NOT_FOUND', sent: false },
    ]);
    await waitFor(async () => (await commandsInStream()) === before + 2, {
      message: 'two cancel commands in the stream',
    });
    const audit = await env.db
      .selectFrom('audit_log')
      .select(['action', 'target'])
      .where('tenant', '=', 'sch-a')
      .where('target', 'like', '/v1/workloads (cancel%')
      .execute();
    expect(audit).toEqual([
      expect.objectContaining({ target: '/v1/workloads (cancel: matched 3, changed 2)' }),
    ]);
  });

  it('select by filter, and need exactly one of ids and filter', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await insertWorkload(env.db, 'sch-a'));
    await env.db
      .updateTable('workloads')
      .set({ type: 'bulk-filtered' })
      .where('id', 'in', ids)
      .execute();
    const res = await request(base, 'POST', '/v1/workloads/pause', {
      key: operator,
      body: { filter: { type: 'bulk-filtered', status: 'PENDING' } },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ matched: 5, changed: 5 });
    for (const body of [{}, { ids: [ids[0]], filter: { type: 'x' } }, { filter: {} }]) {
      const bad = await request(base, 'POST', '/v1/workloads/pause', { key: operator, body });
      expect({ body, status: bad.status }).toEqual({ body, status: 400 });
    }
    const viewerTry = await request(base, 'POST', '/v1/workloads/resume', {
      key: viewer,
      body: { ids },
    });
    expect(viewerTry.status).toBe(403);
  });
});
