import { openSecret, parseSecretKeys } from '@niyanta/runtime';
import type { SecretKeys } from '@niyanta/runtime';
import { sql } from 'kysely';
import {
  ROOT_KEY,
  SECRETS_KEY,
  createKey,
  createTenant,
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

const VALUE = 'hunter2-but-longer-0123456789';

describe('secrets', () => {
  it('are stored sealed by an admin, listed by name only, replaced and deleted', async () => {
    await createTenant(base, 'sec-a');
    await createTenant(base, 'sec-b');
    const admin = await createKey(base, 'sec-a', 'admin');
    const operator = await createKey(base, 'sec-a', 'operator');
    const otherAdmin = await createKey(base, 'sec-b', 'admin');

    const put = await request(base, 'PUT', '/v1/secrets/db.password', {
      key: admin.key,
      body: { value: VALUE },
    });
    expect(put.status).toBe(204);
    expect(put.body).toBeUndefined();

    const list = await request(base, 'GET', '/v1/secrets', { key: admin.key });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ items: [{ name: 'db.password', updatedAt: expect.any(String) }] });

    // Stored sealed under the first key of SECRETS_KEY, bound to its tenant and name.
    const row = await env.db
      .selectFrom('secrets')
      .selectAll()
      .where('tenant', '=', 'sec-a')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ name: 'db.password', key_id: 'k2' });
    expect(JSON.stringify(row)).not.toContain(VALUE);
    const keys = parseSecretKeys(SECRETS_KEY) as SecretKeys;
    expect(
      openSecret(
        keys,
        { tenant: 'sec-a', name: 'db.password' },
        {
          keyId: row.key_id,
          sealed: row.sealed,
        },
      ),
    ).toBe(VALUE);
    expect(() =>
      openSecret(
        keys,
        { tenant: 'sec-b', name: 'db.password' },
        {
          keyId: row.key_id,
          sealed: row.sealed,
        },
      ),
    ).toThrow(/does not open/);

    // Replacing keeps one row with a new seal.
    expect(
      (
        await request(base, 'PUT', '/v1/secrets/db.password', {
          key: admin.key,
          body: { value: 'v2-value' },
        })
      ).status,
    ).toBe(204);
    const replaced = await env.db
      .selectFrom('secrets')
      .selectAll()
      .where('tenant', '=', 'sec-a')
      .execute();
    expect(replaced).toHaveLength(1);
    expect(replaced[0]!.sealed).not.toBe(row.sealed);

    // Below admin: 403; another tenant: sees none, and its delete is a 404.
    expect((await request(base, 'GET', '/v1/secrets', { key: operator.key })).status).toBe(403);
    expect(
      (await request(base, 'PUT', '/v1/secrets/x', { key: operator.key, body: { value: 'v' } }))
        .status,
    ).toBe(403);
    expect((await request(base, 'GET', '/v1/secrets', { key: otherAdmin.key })).body).toEqual({
      items: [],
    });
    expect(
      (await request(base, 'DELETE', '/v1/secrets/db.password', { key: otherAdmin.key })).status,
    ).toBe(404);

    // Names have a pattern; bodies a schema.
    const badName = await request(base, 'PUT', '/v1/secrets/-bad', {
      key: admin.key,
      body: { value: 'v' },
    });
    expect(badName.status).toBe(400);
    const badBody = await request(base, 'PUT', '/v1/secrets/ok', {
      key: admin.key,
      body: { value: 1 },
    });
    expect(badBody.status).toBe(400);

    expect(
      (await request(base, 'DELETE', '/v1/secrets/db.password', { key: admin.key })).status,
    ).toBe(204);
    expect(
      (await request(base, 'DELETE', '/v1/secrets/db.password', { key: admin.key })).status,
    ).toBe(404);

    // Audited like every change, by name; the value is in no table.
    const audit = await env.db
      .selectFrom('audit_log')
      .select(['action', 'target', 'outcome'])
      .where('tenant', '=', 'sec-a')
      .where('target', 'like', '/v1/secrets/%')
      .orderBy('seq')
      .execute();
    expect(audit).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ target: '/v1/secrets/db.password', outcome: 204 }),
      ]),
    );
    expect(audit.length).toBeGreaterThanOrEqual(4);
    const dump = await sql<{ t: string }>`
      select string_agg(t::text, ' ') as t from (
        select a::text as t from audit_log a union all select s::text from secrets s) x`.execute(
      env.db,
    );
    expect(dump.rows[0]?.t ?? '').not.toContain(VALUE);
  });

  it('refuses a submission naming a secret its tenant does not have (400 naming it)', async () => {
    await createTenant(base, 'sec-c');
    const admin = await createKey(base, 'sec-c', 'admin');
    expect(
      (await request(base, 'PUT', '/v1/secrets/token', { key: admin.key, body: { value: VALUE } }))
        .status,
    ).toBe(204);
    const refused = await request(base, 'POST', '/v1/workloads', {
      key: admin.key,
      body: { type: 'noop', input: {}, secrets: ['token', 'missing'] },
    });
    expect(refused.status).toBe(400);
    expect((refused.body as { errors: unknown[] }).errors).toEqual([
      expect.objectContaining({ path: '/secrets/1', in: 'body' }),
    ]);
    // Another tenant's secret of the same name is not this tenant's.
    const other = await request(base, 'POST', '/v1/workloads', {
      key: ROOT_KEY,
      body: { type: 'noop', input: {}, secrets: ['token'] },
    });
    expect(other.status).toBe(400);
    const batch = await request(base, 'POST', '/v1/workloads/batch', {
      key: admin.key,
      body: {
        workloads: [
          { type: 'noop', input: {} },
          { type: 'noop', input: {}, secrets: ['nope'] },
        ],
      },
    });
    expect(batch.status).toBe(400);
    expect((batch.body as { errors: { path: string }[] }).errors[0]!.path).toBe(
      '/workloads/1/secrets/0',
    );
    const ok = await request(base, 'POST', '/v1/workloads', {
      key: admin.key,
      body: { type: 'noop', input: {}, secrets: ['token'] },
    });
    expect([201, 202]).toContain(ok.status);
    expect(JSON.stringify(ok.body)).not.toContain(VALUE);
  });
});
