// Shared setup of the identity tests: NATS, a database, two API instances with one root key,
// and helpers that call them with a key.
import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { STREAMS, uuidv7 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import type { BatchConsumer, Nats } from '@niyanta/runtime';
import { createTestDatabase, startNatsServer } from '@niyanta/testing';
import type { NatsServerHandle, TestDatabase } from '@niyanta/testing';
import type { Kysely } from 'kysely';
import { loadConfig, start } from '../src/index.js';
import type { ApiServer } from '../src/index.js';
import { startTestIngester } from './test-ingester.js';

export const ROOT_KEY = 'identity-root-key-0123456789abcdef0123456789';
/** SECRETS_KEY of both API instances: two keys, `k2` sealing, `k1` still opening. */
export const SECRETS_KEY = `k2:${Buffer.alloc(32, 2).toString('base64')},k1:${Buffer.alloc(32, 1).toString('base64')}`;

export interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

export interface IdentityEnv {
  /** Base URLs of two API instances on one database. */
  bases: [string, string];
  db: Kysely<Database>;
  nats: Nats;
  close(): Promise<void>;
}

/** Starts NATS, a fresh database, two APIs with ROOT_KEY, and a stand-in for ingest. */
export async function startIdentityEnv(): Promise<IdentityEnv> {
  const log = createLogger('identity-test', 'silent');
  const natsServer: NatsServerHandle = await startNatsServer();
  const database: TestDatabase = await createTestDatabase();
  const apis: ApiServer[] = [];
  for (let i = 0; i < 2; i++) {
    const api = await start(
      loadConfig({
        NATS_URL: natsServer.url,
        DATABASE_URL: database.url,
        PORT: '0',
        HOST: '127.0.0.1',
        SUBMIT_WAIT_MS: '2000',
        LOG_LEVEL: 'silent',
        API_ROOT_KEY: ROOT_KEY,
        SECRETS_KEY,
      }),
    );
    apis.push(api);
  }
  await Promise.all(apis.map((a) => a.ready));
  const nats = await connectNats({ url: natsServer.url, name: 'identity-test', log });
  const db = createDb(database.url, { max: 4 });
  const ingester: BatchConsumer = startTestIngester(nats, db, log);
  return {
    bases: [`http://127.0.0.1:${apis[0]!.port}`, `http://127.0.0.1:${apis[1]!.port}`],
    db,
    nats,
    async close() {
      await ingester.stop();
      for (const api of apis) await api.close();
      await nats.close();
      await db.destroy();
      await database[Symbol.asyncDispose]();
      await natsServer[Symbol.asyncDispose]();
    },
  };
}

/** One request; `key` undefined sends no Authorization header. */
export async function request(
  base: string,
  method: string,
  path: string,
  opts: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key !== undefined) headers['authorization'] = `Bearer ${opts.key}`;
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body:
      opts.body === undefined
        ? undefined
        : typeof opts.body === 'string'
          ? opts.body
          : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(10_000),
  });
  const type = res.headers.get('content-type') ?? '';
  let body: unknown;
  if (type.includes('text/event-stream')) {
    await res.body?.cancel();
    body = undefined;
  } else {
    const text = await res.text();
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: res.status, headers: res.headers, body };
}

/** Creates a tenant as root; returns its id. */
export async function createTenant(
  base: string,
  id: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const res = await request(base, 'POST', '/v1/tenants', { key: ROOT_KEY, body: { id, ...extra } });
  if (res.status !== 201)
    throw new Error(`create tenant ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return id;
}

/** Creates a key of `tenant` with `role` as root; returns its id and secret key. */
export async function createKey(
  base: string,
  tenant: string,
  role: string,
): Promise<{ id: string; key: string }> {
  const res = await request(base, 'POST', '/v1/api-keys', {
    key: ROOT_KEY,
    headers: { 'Niyanta-Tenant': tenant },
    body: { name: `${role} of ${tenant}`, role },
  });
  if (res.status !== 201) throw new Error(`create key: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; key: string };
}

/**
 * An environment with two fresh tenants, `mine` and `theirs` (for isolation checks), and the
 * API base URL of its first instance.
 */
export async function startTwoTenants(
  mine: string,
  theirs: string,
): Promise<{ env: IdentityEnv; base: string }> {
  const env = await startIdentityEnv();
  const base = env.bases[0]!;
  await createTenant(base, mine);
  await createTenant(base, theirs);
  return { env, base };
}

/** Inserts a workload row of `tenant` directly (the scheduler's part); returns its id. */
export async function insertWorkload(
  db: Kysely<Database>,
  tenant: string,
  status = 'PENDING',
): Promise<string> {
  const id = uuidv7();
  await db
    .insertInto('workloads')
    .values({
      id,
      tenant,
      type: 'noop',
      status,
      priority: 500,
      max_attempts: 3,
      input: JSON.stringify({ n: 1 }),
      labels: '{}',
      requirements: '{}',
    })
    .execute();
  return id;
}

/** Everything a tenant owns, to show that a request changed nothing. */
export async function tenantState(db: Kysely<Database>, tenant: string): Promise<unknown> {
  const [tenantRow, keys, workloads, checkpoints, secrets, schedules] = await Promise.all([
    db.selectFrom('tenants').selectAll().where('id', '=', tenant).execute(),
    db.selectFrom('api_keys').selectAll().where('tenant', '=', tenant).orderBy('id').execute(),
    db.selectFrom('workloads').selectAll().where('tenant', '=', tenant).orderBy('id').execute(),
    db
      .selectFrom('checkpoints')
      .innerJoin('workloads', 'workloads.id', 'checkpoints.workload_id')
      .select(['checkpoints.workload_id', 'checkpoints.seq'])
      .where('workloads.tenant', '=', tenant)
      .execute(),
    db.selectFrom('secrets').selectAll().where('tenant', '=', tenant).orderBy('name').execute(),
    db.selectFrom('schedules').selectAll().where('tenant', '=', tenant).orderBy('id').execute(),
  ]);
  // last_used_at moves when a key is used: not a change made by the request.
  return {
    tenantRow,
    keys: keys.map((k) => ({ ...k, last_used_at: null })),
    workloads,
    checkpoints,
    secrets,
    schedules,
  };
}

/** Counts of the tables a refused request must not write. */
export async function writeCounts(db: Kysely<Database>): Promise<Record<string, number>> {
  const count = async (table: 'tenants' | 'api_keys' | 'workloads') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const revoked = Number(
    (
      await db
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('revoked_at', 'is not', null)
        .executeTakeFirstOrThrow()
    ).n,
  );
  return {
    tenants: await count('tenants'),
    apiKeys: await count('api_keys'),
    revokedKeys: revoked,
    workloads: await count('workloads'),
  };
}

/** The last sequence of the command stream: a refused command publishes nothing. */
export async function commandLastSeq(nats: Nats): Promise<number> {
  await nats.nc.flush();
  return (await nats.jsm.streams.info(STREAMS.command.name)).state.last_seq;
}
