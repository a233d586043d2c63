import { STREAMS, SUBJECTS } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { sql } from 'kysely';
import { ROLES } from '../src/index.js';
import {
  ROOT_KEY,
  commandLastSeq,
  createKey,
  createTenant,
  insertWorkload,
  request,
  startIdentityEnv,
  tenantState,
  writeCounts,
} from './identity-support.js';
import type { IdentityEnv } from './identity-support.js';

let env: IdentityEnv;
let base: string;
let base2: string;

beforeAll(async () => {
  env = await startIdentityEnv();
  [base, base2] = env.bases;
});

afterAll(async () => {
  await env?.close();
});

interface Problem {
  status: number;
  detail: string;
  errors?: { path: string; in?: string; message: string }[];
  [member: string]: unknown;
}

describe('authentication', () => {
  it('answers 401 problem+json with WWW-Authenticate: Bearer to every /v1 request without a valid key', async () => {
    const revoked = await createKey(base, 'default', 'viewer');
    expect(
      (await request(base, 'DELETE', `/v1/api-keys/${revoked.id}`, { key: ROOT_KEY })).status,
    ).toBe(204);
    const cases: Record<string, string>[] = [
      {},
      { authorization: '' },
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer not-a-key' },
      { authorization: `Bearer ${ROOT_KEY}x` },
      { authorization: `Bearer nyk_${'0'.repeat(32)}_${'A'.repeat(43)}` },
      { authorization: `Bearer ${revoked.key}` },
    ];
    for (const headers of cases) {
      const res = await request(base, 'GET', '/v1/workloads', { headers });
      expect({ headers, status: res.status }).toEqual({ headers, status: 401 });
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect((res.body as Problem).errors).toEqual([
        expect.objectContaining({ path: 'authorization', in: 'header' }),
      ]);
    }
  });

  it('keeps /healthz, /readyz, /metrics, /openapi.json and /docs open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs'])
      expect({ path, status: (await request(base, 'GET', path)).status }).toEqual({
        path,
        status: 200,
      });
  });

  it('lets the root key name a tenant with Niyanta-Tenant, and refuses that to a tenant key', async () => {
    await createTenant(base, 'hdr-a');
    const a = await createKey(base, 'hdr-a', 'admin');
    const wid = await insertWorkload(env.db, 'hdr-a');
    const asRoot = await request(base, 'GET', `/v1/workloads/${wid}`, {
      key: ROOT_KEY,
      headers: { 'Niyanta-Tenant': 'hdr-a' },
    });
    expect(asRoot.status).toBe(200);
    expect((await request(base, 'GET', `/v1/workloads/${wid}`, { key: ROOT_KEY })).status).toBe(
      404,
    );
    const own = await request(base, 'GET', `/v1/workloads/${wid}`, {
      key: a.key,
      headers: { 'Niyanta-Tenant': 'hdr-a' },
    });
    expect(own.status).toBe(200);
    const other = await request(base, 'GET', '/v1/workloads', {
      key: a.key,
      headers: { 'Niyanta-Tenant': 'default' },
    });
    expect(other.status).toBe(403);
    expect((other.body as Problem).errors).toEqual([
      expect.objectContaining({ path: 'Niyanta-Tenant', in: 'header' }),
    ]);
    const unknown = await request(base, 'GET', '/v1/workloads', {
      key: ROOT_KEY,
      headers: { 'Niyanta-Tenant': 'no-such-tenant' },
    });
    expect(unknown.status).toBe(404);
  });

  it('refuses the keys of a disabled tenant with 403', async () => {
    await createTenant(base, 'dis-a');
    const a = await createKey(base, 'dis-a', 'admin');
    expect((await request(base, 'GET', '/v1/workloads', { key: a.key })).status).toBe(200);
    const patched = await request(base, 'PATCH', '/v1/tenants/dis-a', {
      key: ROOT_KEY,
      body: { status: 'disabled' },
    });
    expect(patched.status).toBe(200);
    await waitFor(
      async () => (await request(base2, 'GET', '/v1/workloads', { key: a.key })).status === 403,
      {
        timeoutMs: 2_000,
        message: 'the disabled tenant refused on the second instance',
      },
    );
  });
});

describe('tenant isolation', () => {
  // A's resources by the path family their {id} names; a route with an {id} missing here fails.
  let aResources: Record<string, string>;
  let bAdmin: { id: string; key: string };
  const A = 'iso-a';
  const B = 'iso-b';

  beforeAll(async () => {
    await createTenant(base, A, { name: 'Tenant A' });
    await createTenant(base, B, { name: 'Tenant B' });
    bAdmin = await createKey(base, B, 'admin');
    const aKey = await createKey(base, A, 'viewer');
    const aWorkload = await insertWorkload(env.db, A, 'RUNNING');
    await env.db
      .insertInto('checkpoints')
      .values({
        workload_id: aWorkload,
        seq: 1,
        attempt: 1,
        size: 2,
        sha256: 'x'.repeat(64),
        storage: 'inline',
        data: Buffer.from('{}'),
      })
      .execute();
    const aDead = await env.db
      .insertInto('dead_letters')
      .values({
        stream: STREAMS.command.name,
        consumer: 'scheduler-commands',
        subject: SUBJECTS.command(A),
        stream_seq: 1,
        msg_id: null,
        tenant: A,
        headers: null,
        data: Buffer.from('{}'),
        error: 'kept failing',
        deliveries: 5,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const aRejected = await env.db
      .insertInto('rejected_submissions')
      .values({
        // An id no other answer could contain by chance.
        id: '987654321987',
        subject: SUBJECTS.submit(A),
        tenant: A,
        stream_seq: 1,
        msg_id: null,
        reason: 'refused',
        errors: '[]',
        raw: '{}',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const aAdmin = await createKey(base, A, 'admin');
    const put = await request(base, 'PUT', '/v1/secrets/a-secret', {
      key: aAdmin.key,
      body: { value: 'value of A' },
    });
    expect(put.status).toBe(204);
    const aSchedule = await request(base, 'POST', '/v1/schedules', {
      key: aAdmin.key,
      body: { name: 'a schedule', cron: '@daily', workload: { type: 'noop', input: {} } },
    });
    expect(aSchedule.status).toBe(201);
    aResources = {
      '/v1/schedules/{id}': (aSchedule.body as { id: string }).id,
      '/v1/workloads/{id}': aWorkload,
      '/v1/tenants/{id}': A,
      '/v1/api-keys/{id}': aKey.id,
      '/v1/dead-letters/{id}': aDead.id,
      '/v1/rejected/{id}': String(aRejected.id),
      // Secrets are named per tenant: B's key naming A's secret works on B's own of that name.
      '/v1/secrets/{name}': 'a-secret',
    };
  });

  // A body valid for each route, so only the scope check can refuse it.
  const BODIES: Record<string, unknown> = {
    'POST /v1/workloads': { type: 'noop', input: {} },
    'POST /v1/workloads/batch': { workloads: [{ type: 'noop', input: {} }] },
    'POST /v1/tenants': { id: 'iso-b-made' },
    'PATCH /v1/tenants/{id}': { name: 'taken over' },
    'POST /v1/api-keys': { name: 'made by b', role: 'viewer' },
    'PUT /v1/secrets/{name}': { value: 'value of B' },
    'POST /v1/schedules': {
      name: 'b schedule',
      cron: '@daily',
      workload: { type: 'noop', input: {} },
    },
    'PATCH /v1/schedules/{id}': { paused: true },
  };
  // Bulk commands naming A's workload: B's key matches none of it.
  for (const command of ['cancel', 'pause', 'resume'])
    BODIES[`POST /v1/workloads/${command}`] = {
      get ids() {
        return [aResources['/v1/workloads/{id}']];
      },
    };

  it("answers 404 to B's key on every route naming A's resource, lists none of A's rows, and changes nothing of A's", async () => {
    const doc = (await request(base, 'GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path })));
    expect(routes.length).toBeGreaterThan(15);
    // A's secret's name is B's to use too (B's own PUT shows in B's audit); its value is not.
    const secrets = [
      ...Object.entries(aResources)
        .filter(([family]) => family !== '/v1/secrets/{name}')
        .map(([, id]) => id),
      'value of A',
    ];
    for (const { method, path } of routes) {
      const before = await tenantState(env.db, A);
      const commands = await commandLastSeq(env.nats);
      const family = Object.keys(aResources).find((f) => path.startsWith(f));
      const concrete =
        family === undefined
          ? path
          : path
              .replace('/signals/{name}', '/signals/approve')
              .replace(/\{(id|name)\}/, aResources[family]!);
      const label = `${method} ${path}`;
      expect({ label, unresolved: concrete.includes('{') }).toEqual({ label, unresolved: false });
      const body =
        BODIES[`${method} ${path}`] ?? (method === 'GET' || method === 'DELETE' ? undefined : {});
      const res = await request(base, method, concrete, { key: bAdmin.key, body });
      if (path.includes('{id}')) {
        expect({ label, status: res.status }).toEqual({ label, status: 404 });
      } else {
        expect({ label, ok: res.status < 500 }).toEqual({ label, ok: true });
        // A bulk command answers for each id it was given: A's workload as one it does not know.
        const echoed = body !== undefined && typeof body === 'object' && 'ids' in body;
        if (echoed)
          expect({ label, body: res.body }).toMatchObject({
            label,
            body: { matched: 0, changed: 0, items: [{ status: 'NOT_FOUND', sent: false }] },
          });
        const text = JSON.stringify(
          echoed ? { ...(res.body as object), items: [] } : (res.body ?? ''),
        );
        for (const s of [...secrets, A])
          expect({ label, leaks: text.includes(s) }).toEqual({ label, leaks: false });
      }
      expect({ label, state: await tenantState(env.db, A) }).toEqual({ label, state: before });
      expect({ label, commands: await commandLastSeq(env.nats) }).toEqual({ label, commands });
    }
  });
});

describe('roles', () => {
  const T = 'roles-a';
  let workload: string;
  let deadLetter: string;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    await createTenant(base, T);
    for (const role of ROLES) keys[role] = (await createKey(base, T, role)).key;
    workload = await insertWorkload(env.db, T);
    // Replayed on the command stream, which nothing in this test consumes.
    deadLetter = (
      await env.db
        .insertInto('dead_letters')
        .values({
          stream: STREAMS.command.name,
          consumer: 'scheduler-commands',
          subject: SUBJECTS.command(T),
          stream_seq: 2,
          msg_id: null,
          tenant: T,
          headers: null,
          data: Buffer.from('{}'),
          error: 'kept failing',
          deliveries: 5,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  });

  // Each operation with the weakest role allowed to do it (`root`: no tenant key may).
  const OPERATIONS: { method: string; path: () => string; body?: unknown; weakest: string }[] = [
    { method: 'GET', path: () => '/v1/workloads', weakest: 'viewer' },
    { method: 'GET', path: () => `/v1/workloads/${workload}`, weakest: 'viewer' },
    { method: 'GET', path: () => `/v1/workloads/${workload}/checkpoints`, weakest: 'viewer' },
    { method: 'GET', path: () => `/v1/tenants/${T}`, weakest: 'viewer' },
    {
      method: 'POST',
      path: () => '/v1/workloads',
      body: { type: 'noop', input: {} },
      weakest: 'submitter',
    },
    {
      method: 'POST',
      path: () => `/v1/workloads/${workload}/signals/approve`,
      body: { payload: 1 },
      weakest: 'submitter',
    },
    { method: 'POST', path: () => `/v1/workloads/${workload}/cancel`, weakest: 'operator' },
    { method: 'POST', path: () => `/v1/workloads/${workload}/pause`, weakest: 'operator' },
    {
      method: 'POST',
      path: () => '/v1/workloads/cancel',
      body: { filter: { type: 'no-such-type' } },
      weakest: 'operator',
    },
    { method: 'GET', path: () => '/v1/schedules', weakest: 'viewer' },
    { method: 'GET', path: () => '/v1/workers', weakest: 'operator' },
    { method: 'GET', path: () => '/v1/api-keys', weakest: 'admin' },
    {
      method: 'POST',
      path: () => '/v1/api-keys',
      body: { name: 'k', role: 'viewer' },
      weakest: 'admin',
    },
    { method: 'GET', path: () => '/v1/audit', weakest: 'admin' },
    { method: 'GET', path: () => '/v1/audit/verify', weakest: 'admin' },
    { method: 'GET', path: () => '/v1/dead-letters', weakest: 'admin' },
    { method: 'GET', path: () => '/v1/rejected', weakest: 'admin' },
    { method: 'POST', path: () => `/v1/dead-letters/${deadLetter}/replay`, weakest: 'admin' },
    {
      method: 'PATCH',
      path: () => `/v1/tenants/${T}`,
      body: { name: 'renamed' },
      weakest: 'admin',
    },
    {
      method: 'PATCH',
      path: () => `/v1/tenants/${T}`,
      body: { quotas: { maxPending: 1 } },
      weakest: 'root',
    },
    { method: 'GET', path: () => '/v1/tenants', weakest: 'root' },
    { method: 'POST', path: () => '/v1/tenants', body: { id: 'roles-made' }, weakest: 'root' },
  ];

  it('allows each role exactly what it should, and names the role and the missing permission otherwise', async () => {
    const rank = (r: string) => ['viewer', 'submitter', 'operator', 'admin', 'root'].indexOf(r);
    for (const op of OPERATIONS) {
      for (const role of ROLES) {
        const res = await request(base, op.method, op.path(), { key: keys[role]!, body: op.body });
        const label = `${role} ${op.method} ${op.path()} ${JSON.stringify(op.body ?? '')}`;
        const allowed = rank(role) >= rank(op.weakest);
        expect({ label, allowed: res.status < 400 }).toEqual({ label, allowed });
        if (!allowed) {
          expect({ label, status: res.status }).toEqual({ label, status: 403 });
          const problem = res.body as Problem;
          expect(problem.role).toBe(role);
          expect(problem.detail).toContain(`role ${role}`);
          expect(problem.detail).toMatch(/permission [a-z]+:[a-z]+/);
        }
      }
    }
  });
});

describe('revocation', () => {
  it('is seen by a second API instance within 2 s', async () => {
    const admin = await createKey(base, 'default', 'admin');
    const victim = await createKey(base, 'default', 'viewer');
    // The second instance has the key cached.
    expect((await request(base2, 'GET', '/v1/workloads', { key: victim.key })).status).toBe(200);
    expect(
      (await request(base, 'DELETE', `/v1/api-keys/${victim.id}`, { key: admin.key })).status,
    ).toBe(204);
    const revokedAt = Date.now();
    await waitFor(
      async () =>
        (await request(base2, 'GET', '/v1/workloads', { key: victim.key })).status === 401,
      {
        timeoutMs: 2_000,
        intervalMs: 50,
        message: 'the revoked key refused by the second instance',
      },
    );
    expect(Date.now() - revokedAt).toBeLessThan(2_000);
    const list = await request(base, 'GET', '/v1/api-keys', { key: admin.key });
    const listed = (
      list.body as { items: { id: string; revokedAt: string | null; key?: string }[] }
    ).items;
    expect(listed.find((k) => k.id === victim.id)?.revokedAt).not.toBeNull();
    expect(JSON.stringify(list.body)).not.toContain(victim.key.split('_').at(-1)!);
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After, RateLimit-Policy and RateLimit once the burst is spent', async () => {
    await createTenant(base, 'rl-a', { rateLimit: { requestsPerSecond: 0.5, burst: 2 } });
    const k = await createKey(base, 'rl-a', 'viewer');
    const first = await request(base, 'GET', '/v1/workloads', { key: k.key });
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"tenant";q=2;w=4');
    expect(first.headers.get('ratelimit')).toMatch(/^"tenant";r=1;t=\d+$/);
    expect((await request(base, 'GET', '/v1/workloads', { key: k.key })).status).toBe(200);
    const limited = await request(base, 'GET', '/v1/workloads', { key: k.key });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('ratelimit-policy')).toBe('"tenant";q=2;w=4');
    expect(limited.headers.get('ratelimit')).toMatch(/^"tenant";r=0;t=\d+$/);
    expect(limited.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  });
});

describe('maxPending', () => {
  it('refuses a submission over the quota with 429 QUOTA_EXCEEDED, and a batch all or nothing', async () => {
    await createTenant(base, 'quota-a', { quotas: { maxPending: 3 } });
    const k = await createKey(base, 'quota-a', 'submitter');
    for (let i = 0; i < 2; i++) {
      const res = await request(base, 'POST', '/v1/workloads', {
        key: k.key,
        body: { type: 'noop', input: i },
      });
      expect(res.status).toBe(201);
    }
    const row = await env.db
      .selectFrom('workloads')
      .select('submitted_by')
      .where('tenant', '=', 'quota-a')
      .executeTakeFirstOrThrow();
    expect(row.submitted_by).toBe(k.id);
    const batch = await request(base, 'POST', '/v1/workloads/batch', {
      key: k.key,
      body: {
        workloads: [
          { type: 'noop', input: 1 },
          { type: 'noop', input: 2 },
        ],
      },
    });
    expect(batch.status).toBe(429);
    expect(batch.body).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      quota: 'maxPending',
      limit: 3,
      current: 2,
    });
    expect((batch.body as Problem).detail).toContain('maxPending 3');
    expect(
      (
        await request(base, 'POST', '/v1/workloads', {
          key: k.key,
          body: { type: 'noop', input: 3 },
        })
      ).status,
    ).toBe(201);
    const over = await request(base, 'POST', '/v1/workloads', {
      key: k.key,
      body: { type: 'noop', input: 4 },
    });
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ code: 'QUOTA_EXCEEDED', quota: 'maxPending', current: 3 });
    const usage = await request(base, 'GET', '/v1/tenants/quota-a', { key: k.key });
    expect(usage.body).toMatchObject({ quotas: { maxPending: 3 }, usage: { pending: 3 } });
  });
});

describe('bad input', () => {
  it('names the field or header and writes nothing', async () => {
    await createTenant(base, 'bad-a');
    const admin = await createKey(base, 'bad-a', 'admin');
    const before = await writeCounts(env.db);
    const cases: {
      label: string;
      method: string;
      path: string;
      key?: string;
      body?: unknown;
      headers?: Record<string, string>;
      status: number;
      field: { path: string; in: string };
    }[] = [
      {
        label: 'malformed Authorization',
        method: 'POST',
        path: '/v1/api-keys',
        headers: { authorization: 'Token abc' },
        body: { name: 'x', role: 'viewer' },
        status: 401,
        field: { path: 'authorization', in: 'header' },
      },
      {
        label: 'unknown role',
        method: 'POST',
        path: '/v1/api-keys',
        key: admin.key,
        body: { name: 'x', role: 'owner' },
        status: 400,
        field: { path: '/role', in: 'body' },
      },
      {
        label: 'duplicate tenant',
        method: 'POST',
        path: '/v1/tenants',
        key: ROOT_KEY,
        body: { id: 'bad-a' },
        status: 409,
        field: { path: '/id', in: 'body' },
      },
      {
        label: 'over-long key name',
        method: 'POST',
        path: '/v1/api-keys',
        key: admin.key,
        body: { name: 'n'.repeat(201), role: 'viewer' },
        status: 400,
        field: { path: '/name', in: 'body' },
      },
      {
        label: 'over-long tenant name',
        method: 'PATCH',
        path: '/v1/tenants/bad-a',
        key: admin.key,
        body: { name: 'n'.repeat(201) },
        status: 400,
        field: { path: '/name', in: 'body' },
      },
      {
        label: 'invalid tenant id',
        method: 'POST',
        path: '/v1/tenants',
        key: ROOT_KEY,
        body: { id: 'Bad_Id' },
        status: 400,
        field: { path: '/id', in: 'body' },
      },
      {
        label: 'invalid Niyanta-Tenant',
        method: 'POST',
        path: '/v1/api-keys',
        key: ROOT_KEY,
        headers: { 'Niyanta-Tenant': 'NOT VALID' },
        body: { name: 'x', role: 'viewer' },
        status: 400,
        field: { path: 'Niyanta-Tenant', in: 'header' },
      },
      {
        label: 'PATCH with an unknown field',
        method: 'PATCH',
        path: '/v1/tenants/bad-a',
        key: ROOT_KEY,
        body: { name: 'ok', colour: 'red' },
        status: 400,
        field: { path: '/colour', in: 'body' },
      },
      {
        label: 'admin raising its own quota',
        method: 'PATCH',
        path: '/v1/tenants/bad-a',
        key: admin.key,
        body: { quotas: { maxPending: 1000 } },
        status: 403,
        field: { path: '/quotas', in: 'body' },
      },
      {
        label: 'revoking a malformed key id',
        method: 'DELETE',
        path: '/v1/api-keys/xyz',
        key: admin.key,
        status: 400,
        field: { path: 'id', in: 'path' },
      },
      {
        label: 'revoking an unknown key',
        method: 'DELETE',
        path: `/v1/api-keys/${'a'.repeat(32)}`,
        key: admin.key,
        status: 404,
        field: { path: 'id', in: 'path' },
      },
      {
        label: 'an unknown tenant',
        method: 'PATCH',
        path: '/v1/tenants/no-such',
        key: ROOT_KEY,
        body: { name: 'x' },
        status: 404,
        field: { path: 'id', in: 'path' },
      },
    ];
    for (const c of cases) {
      const res = await request(base, c.method, c.path, {
        key: c.key,
        body: c.body,
        headers: c.headers,
      });
      expect({ label: c.label, status: res.status }).toEqual({ label: c.label, status: c.status });
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect({ label: c.label, errors: (res.body as Problem).errors }).toEqual({
        label: c.label,
        errors: expect.arrayContaining([expect.objectContaining(c.field)]),
      });
    }
    expect(await writeCounts(env.db)).toEqual(before);
    const tenant = await env.db
      .selectFrom('tenants')
      .selectAll()
      .where('id', '=', 'bad-a')
      .executeTakeFirstOrThrow();
    expect(tenant.name).toBe('bad-a');
    expect(tenant.quotas).toEqual({});
  });
});

describe('audit log', () => {
  it('records state changes with actor, target and outcome; never forks when two instances append at once', async () => {
    await createTenant(base, 'audit-a');
    const admin = await createKey(base, 'audit-a', 'admin');
    const viewer = await createKey(base, 'audit-a', 'viewer');
    const renames = Array.from({ length: 20 }, (_, i) =>
      request(i % 2 === 0 ? base : base2, 'PATCH', '/v1/tenants/audit-a', {
        key: admin.key,
        body: { name: `name ${i}` },
      }),
    );
    expect((await Promise.all(renames)).map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(
      (await request(base, 'DELETE', `/v1/api-keys/${viewer.id}`, { key: admin.key })).status,
    ).toBe(204);
    const page = await request(base, 'GET', '/v1/audit?limit=500', { key: admin.key });
    const items = (page.body as { items: Record<string, unknown>[] }).items;
    expect(items.every((e) => e['tenant'] === 'audit-a')).toBe(true);
    expect(items[0]).toMatchObject({
      actor: admin.id,
      action: 'DELETE /v1/api-keys/:id',
      target: `/v1/api-keys/${viewer.id}`,
      outcome: 204,
    });
    expect(items.filter((e) => e['action'] === 'PATCH /v1/tenants/:id')).toHaveLength(20);
    const all = await env.db
      .selectFrom('audit_log')
      .select(['seq', 'prev_hash', 'hash'])
      .orderBy('seq')
      .execute();
    all.forEach((row, i) => {
      expect(Number(row.seq)).toBe(i + 1);
      if (i > 0) expect(row.prev_hash).toBe(all[i - 1]!.hash);
    });
    // Submissions are not audit entries; their record is the workload row.
    expect(
      (
        await request(base, 'POST', '/v1/workloads', {
          key: admin.key,
          body: { type: 'noop', input: {} },
        })
      ).status,
    ).toBe(201);
    const after = await request(base, 'GET', '/v1/audit?limit=1', { key: admin.key });
    expect((after.body as { items: unknown[] }).items[0]).toEqual(items[0]);
  });

  it('records failed authentications', async () => {
    await request(base, 'POST', '/v1/workloads/batch', {
      headers: { authorization: 'Bearer wrong' },
    });
    // The entry is written after the answer: wait for it.
    const items = await waitFor(
      async () => {
        const page = await request(base, 'GET', '/v1/audit?limit=5', { key: ROOT_KEY });
        const found = (page.body as { items: { action: string }[] }).items;
        return found.some((e) => e.action === 'auth.failed') ? found : undefined;
      },
      { timeoutMs: 5_000, message: 'the failed authentication in the audit log' },
    );
    expect(items).toContainEqual(
      expect.objectContaining({
        action: 'auth.failed',
        actor: 'unauthenticated',
        tenant: null,
        target: 'POST /v1/workloads/batch',
        outcome: 401,
      }),
    );
  });

  it('verifies the chain, then names the seq of a row changed with SQL', async () => {
    const ok = await request(base, 'GET', '/v1/audit/verify', { key: ROOT_KEY });
    expect(ok.body).toMatchObject({ ok: true, firstBadSeq: null });
    const { checked } = ok.body as { checked: number };
    expect(checked).toBeGreaterThan(20);
    const victim = Math.floor(checked / 2);
    await sql`update audit_log set target = '/v1/somewhere-else' where seq = ${victim}`.execute(
      env.db,
    );
    const bad = await request(base2, 'GET', '/v1/audit/verify', { key: ROOT_KEY });
    expect(bad.body).toEqual({ ok: false, checked: victim, firstBadSeq: victim });
  });
});
