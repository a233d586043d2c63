import fc from 'fast-check';
import { validateHttp } from '@niyanta/messages';
import type { HttpSchemaKind } from '@niyanta/messages';
import {
  ROOT_KEY,
  createKey,
  createTenant,
  request,
  startIdentityEnv,
  writeCounts,
} from './identity-support.js';
import type { IdentityEnv } from './identity-support.js';

jest.setTimeout(120_000);

let env: IdentityEnv;
let base: string;
let admin: { id: string; key: string };

beforeAll(async () => {
  env = await startIdentityEnv();
  base = env.bases[0];
  await createTenant(base, 'fuzz-a');
  admin = await createKey(base, 'fuzz-a', 'admin');
});

afterAll(async () => {
  await env?.close();
});

// Printable ASCII: what a header value can carry through fetch.
const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 120,
});
const hex = fc.string({
  unit: fc.constantFrom(...'0123456789abcdef'),
  minLength: 32,
  maxLength: 32,
});
const b64 = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
  minLength: 43,
  maxLength: 43,
});

/** Authorization values that must never authenticate. */
const badAuthorization = fc.oneof(
  printable,
  printable.map((s) => `Bearer ${s}`),
  fc.tuple(hex, b64).map(([id, secret]) => `Bearer nyk_${id}_${secret}`),
  // The admin's own key with one character of its secret changed.
  fc.nat().map((n) => {
    const key = admin.key;
    const i = key.length - 1 - (n % 43);
    const swapped = key[i] === 'A' ? 'B' : 'A';
    return `Bearer ${key.slice(0, i)}${swapped}${key.slice(i + 1)}`;
  }),
  fc.constant(`Bearer ${ROOT_KEY.slice(0, -1)}`),
  fc.constant(`Basic ${Buffer.from(`root:${ROOT_KEY}`).toString('base64')}`),
);

const ROUTES: { method: string; path: string; kind?: HttpSchemaKind }[] = [
  { method: 'POST', path: '/v1/tenants', kind: 'tenantCreate' },
  { method: 'GET', path: '/v1/tenants' },
  { method: 'GET', path: '/v1/tenants/fuzz-a' },
  { method: 'PATCH', path: '/v1/tenants/fuzz-a', kind: 'tenantPatch' },
  { method: 'POST', path: '/v1/api-keys', kind: 'apiKeyCreate' },
  { method: 'GET', path: '/v1/api-keys' },
  { method: 'DELETE', path: `/v1/api-keys/${'0'.repeat(32)}` },
  { method: 'GET', path: '/v1/audit' },
  { method: 'GET', path: '/v1/audit/verify' },
  { method: 'POST', path: '/v1/workloads', kind: 'workloadSubmission' },
];
const route = fc.constantFrom(...ROUTES);

/** Bodies near the new schemas: their fields with random values, and anything at all. */
const nearBody = fc.oneof(
  fc.record(
    {
      id: fc.oneof(printable, fc.anything()),
      name: fc.oneof(printable, fc.string({ minLength: 190, maxLength: 260 }), fc.anything()),
      role: fc.oneof(fc.constantFrom('admin', 'owner', 'root', 'Viewer', ''), fc.anything()),
      weight: fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.anything()),
      quotas: fc.oneof(
        fc.record({ maxPending: fc.integer({ min: -10, max: 10 }) }, { requiredKeys: [] }),
        fc.anything(),
      ),
      rateLimit: fc.oneof(
        fc.record({ requestsPerSecond: fc.double(), burst: fc.integer() }, { requiredKeys: [] }),
        fc.anything(),
      ),
      status: fc.oneof(fc.constantFrom('active', 'disabled', 'paused'), fc.anything()),
      extra: fc.anything(),
    },
    { requiredKeys: [] },
  ),
  fc.anything(),
);

describe('fuzz over the auth headers and the new bodies', () => {
  it('never answers 5xx and writes nothing with a bad Authorization header', async () => {
    const before = await writeCounts(env.db);
    await fc.assert(
      fc.asyncProperty(
        route,
        badAuthorization,
        fc.option(printable, { nil: undefined }),
        nearBody,
        async (r, authorization, tenant, body) => {
          const headers: Record<string, string> = { authorization };
          if (tenant !== undefined) headers['Niyanta-Tenant'] = tenant;
          const res = await request(base, r.method, r.path, {
            headers,
            body: r.method === 'GET' || r.method === 'DELETE' ? undefined : body,
          });
          expect(res.status).toBeLessThan(500);
          expect([400, 401]).toContain(res.status);
        },
      ),
      { numRuns: 200 },
    );
    expect(await writeCounts(env.db)).toEqual(before);
  });

  it('never answers 5xx and writes nothing for invalid bodies and tenant headers with valid keys', async () => {
    const before = await writeCounts(env.db);
    const tenantBefore = await env.db
      .selectFrom('tenants')
      .selectAll()
      .where('id', '=', 'fuzz-a')
      .executeTakeFirstOrThrow();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES.filter((r) => r.kind !== undefined)),
        fc.constantFrom(ROOT_KEY, admin.key),
        fc.option(
          printable.filter((t) => !/^[a-z0-9][a-z0-9-]{0,62}$/.test(t)),
          { nil: undefined },
        ),
        fc.oneof(nearBody, printable),
        async (r, key, tenant, body) => {
          // Only bodies the schema refuses, or any body under an invalid tenant header.
          const raw = typeof body === 'string';
          fc.pre(tenant !== undefined || raw || validateHttp(r.kind!, body).length > 0);
          const headers: Record<string, string> = {};
          if (tenant !== undefined) headers['Niyanta-Tenant'] = tenant;
          const res = await request(base, r.method, r.path, { key, headers, body });
          expect(res.status).toBeLessThan(500);
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.headers.get('content-type')).toBe('application/problem+json');
        },
      ),
      { numRuns: 200 },
    );
    expect(await writeCounts(env.db)).toEqual(before);
    expect(
      await env.db
        .selectFrom('tenants')
        .selectAll()
        .where('id', '=', 'fuzz-a')
        .executeTakeFirstOrThrow(),
    ).toEqual(tenantBefore);
  });
});
