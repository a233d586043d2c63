import { validateHttp } from '@niyanta/messages';
import {
  ROOT_KEY,
  createKey,
  createTenant,
  insertWorkload,
  request,
  startIdentityEnv,
} from './identity-support.js';
import type { IdentityEnv } from './identity-support.js';

let env: IdentityEnv;
let base: string;

beforeAll(async () => {
  env = await startIdentityEnv();
  [base] = env.bases;
});

afterAll(async () => {
  await env?.close();
});

describe('GET /v1/me', () => {
  it("names the key's tenant, role and id; the root key as root; 401 without a key", async () => {
    await createTenant(base, 'me-a');
    const viewer = await createKey(base, 'me-a', 'viewer');
    const res = await request(base, 'GET', '/v1/me', { key: viewer.key });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      kind: 'key',
      tenant: 'me-a',
      role: 'viewer',
      keyId: viewer.id,
      authentication: 'enabled',
    });
    expect(validateHttp('me', res.body)).toEqual([]);
    const root = await request(base, 'GET', '/v1/me', {
      key: ROOT_KEY,
      headers: { 'Niyanta-Tenant': 'me-a' },
    });
    expect(root.body).toEqual({
      kind: 'root',
      tenant: 'me-a',
      role: 'root',
      keyId: null,
      authentication: 'enabled',
    });
    expect((await request(base, 'GET', '/v1/me')).status).toBe(401);
  });
});

describe('GET /v1/workloads/counts', () => {
  it("counts the tenant's own workloads per status, every status present", async () => {
    await createTenant(base, 'count-a');
    await createTenant(base, 'count-b');
    for (const status of ['PENDING', 'PENDING', 'RUNNING', 'FAILED'])
      await insertWorkload(env.db, 'count-a', status);
    await insertWorkload(env.db, 'count-b', 'RUNNING');
    const key = (await createKey(base, 'count-a', 'viewer')).key;
    const res = await request(base, 'GET', '/v1/workloads/counts', { key });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      counts: {
        SUBMITTED: 0,
        PENDING: 2,
        SCHEDULED: 0,
        RUNNING: 1,
        PAUSED: 0,
        WAITING: 0,
        COMPLETED: 0,
        FAILED: 1,
        CANCELLED: 0,
      },
      total: 4,
    });
    expect(validateHttp('workloadCounts', res.body)).toEqual([]);
  });
});

describe('GET /v1/workloads/{id}/history', () => {
  it("lists the workload's status changes oldest first; another tenant gets 404", async () => {
    await createTenant(base, 'hist-a');
    await createTenant(base, 'hist-b');
    const id = await insertWorkload(env.db, 'hist-a', 'RUNNING');
    await env.db
      .insertInto('workload_events')
      .values([
        {
          workload_id: id,
          from_status: 'SCHEDULED',
          to_status: 'RUNNING',
          attempt: 1,
          reason: null,
          worker_id: 'w-1',
          at: '2026-01-01T00:00:02Z',
        },
        {
          workload_id: id,
          from_status: null,
          to_status: 'PENDING',
          attempt: 0,
          reason: 'submitted',
          worker_id: null,
          at: '2026-01-01T00:00:00Z',
        },
        {
          workload_id: id,
          from_status: 'PENDING',
          to_status: 'SCHEDULED',
          attempt: 1,
          reason: 'placed on w-1',
          worker_id: 'w-1',
          at: '2026-01-01T00:00:01Z',
        },
      ])
      .execute();
    const key = (await createKey(base, 'hist-a', 'viewer')).key;
    const res = await request(base, 'GET', `/v1/workloads/${id}/history`, { key });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      items: [
        {
          fromStatus: null,
          toStatus: 'PENDING',
          attempt: 0,
          reason: 'submitted',
          workerId: null,
          at: '2026-01-01T00:00:00.000Z',
        },
        {
          fromStatus: 'PENDING',
          toStatus: 'SCHEDULED',
          attempt: 1,
          reason: 'placed on w-1',
          workerId: 'w-1',
          at: '2026-01-01T00:00:01.000Z',
        },
        {
          fromStatus: 'SCHEDULED',
          toStatus: 'RUNNING',
          attempt: 1,
          reason: null,
          workerId: 'w-1',
          at: '2026-01-01T00:00:02.000Z',
        },
      ],
    });
    expect(validateHttp('workloadHistory', res.body)).toEqual([]);
    const other = (await createKey(base, 'hist-b', 'admin')).key;
    expect((await request(base, 'GET', `/v1/workloads/${id}/history`, { key: other })).status).toBe(
      404,
    );
  });
});

describe('GET /v1/workloads?label=', () => {
  it('lists only workloads with that label; a malformed label is a 400 naming it', async () => {
    await createTenant(base, 'label-a');
    const blue = await insertWorkload(env.db, 'label-a');
    await insertWorkload(env.db, 'label-a');
    await env.db
      .updateTable('workloads')
      .set({ labels: JSON.stringify({ team: 'blue', tier: 'a=b' }) })
      .where('id', '=', blue)
      .execute();
    const key = (await createKey(base, 'label-a', 'viewer')).key;
    const list = async (label: string) =>
      request(base, 'GET', `/v1/workloads?label=${encodeURIComponent(label)}`, { key });
    const ids = async (label: string) =>
      ((await list(label)).body as { items: { id: string }[] }).items.map((w) => w.id);
    expect(await ids('team=blue')).toEqual([blue]);
    expect(await ids('tier=a=b')).toEqual([blue]);
    expect(await ids('team=red')).toEqual([]);
    for (const bad of ['team', '=blue', '-x=1']) {
      const res = await list(bad);
      expect({ bad, status: res.status }).toEqual({ bad, status: 400 });
      expect((res.body as { errors: { path: string }[] }).errors[0]!.path).toBe('label');
    }
  });
});
