import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import {
  STREAMS,
  SUBJECTS,
  decode,
  encode,
  envelope,
  uuidv7,
  validateHttp,
} from '@niyanta/messages';
import type { LogV1, WorkloadV1 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import type { BatchConsumer, Nats } from '@niyanta/runtime';
import { createTestDatabase, startNatsServer, waitFor } from '@niyanta/testing';
import type { NatsServerHandle, TestDatabase } from '@niyanta/testing';
import type { Kysely } from 'kysely';
import { loadConfig, start } from '../src/index.js';
import type { ApiServer } from '../src/index.js';
import { startTestIngester } from './test-ingester.js';

/** The installation's root key in these tests; every /v1 request sends it. */
const ROOT_KEY = 'test-root-key-0123456789abcdef0123456789';
/** fetch with the root key's Authorization header. */
function call(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    ...init,
    headers: { authorization: `Bearer ${ROOT_KEY}`, ...(init.headers as Record<string, string>) },
  });
}

const SUBMIT_WAIT_MS = 1_000;
const log = createLogger('api-int-test', 'silent');

let natsServer: NatsServerHandle;
let database: TestDatabase;
let api: ApiServer;
let nats: Nats;
let db: Kysely<Database>;
let ingester: BatchConsumer | undefined;
let base: string;

beforeAll(async () => {
  natsServer = await startNatsServer();
  database = await createTestDatabase();
  api = await start(
    loadConfig({
      NATS_URL: natsServer.url,
      DATABASE_URL: database.url,
      PORT: '0',
      HOST: '127.0.0.1',
      SUBMIT_WAIT_MS: String(SUBMIT_WAIT_MS),
      LOG_LEVEL: 'silent',
      API_ROOT_KEY: ROOT_KEY,
    }),
  );
  base = `http://127.0.0.1:${api.port}`;
  await api.ready;
  nats = await connectNats({ url: natsServer.url, name: 'api-int-test', log });
  db = createDb(database.url, { max: 4 });
  ingester = startTestIngester(nats, db, log, gate);
});

afterAll(async () => {
  resumeIngester();
  await ingester?.stop();
  await api?.close();
  await nats?.close();
  await db?.destroy();
  await database?.[Symbol.asyncDispose]();
  await natsServer?.[Symbol.asyncDispose]();
});

// Pausing holds submissions un-acked in the ingester until resumed.
let held: { promise: Promise<void>; release: () => void } | undefined;
const gate = () => held?.promise ?? Promise.resolve();

async function pauseIngester(): Promise<void> {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  held ??= { promise, release };
}

function resumeIngester(): void {
  held?.release();
  held = undefined;
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

async function submitLastSeq(): Promise<number> {
  await nats.nc.flush();
  return (await nats.jsm.streams.info(STREAMS.submit.name)).state.last_seq;
}

async function insertWorkload(
  fields: Partial<{ id: string; type: string; status: string; idempotency_key: string }> = {},
): Promise<string> {
  const id = fields.id ?? uuidv7();
  await db
    .insertInto('workloads')
    .values({
      id,
      tenant: 'default',
      type: fields.type ?? 'noop',
      status: fields.status ?? 'PENDING',
      priority: 500,
      max_attempts: 3,
      input: JSON.stringify({ n: 1 }),
      labels: JSON.stringify({}),
      requirements: JSON.stringify({}),
      idempotency_key: fields.idempotency_key ?? null,
    })
    .execute();
  return id;
}

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string; in?: string }[];
}

describe('POST /v1/workloads', () => {
  it('answers 201 with the full workload once it is in PostgreSQL', async () => {
    const body = {
      type: 'sleep',
      input: { seconds: 5 },
      priority: 700,
      maxAttempts: 5,
      timeoutSeconds: 60,
      requirements: { cpu: 0.5, memoryMb: 256 },
      labels: { team: 'a' },
      runAt: '2030-01-01T00:00:00.000Z',
    };
    const res = await post('/v1/workloads', body, {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(res.status).toBe(201);
    const workload = (await res.json()) as WorkloadV1;
    expect(validateHttp('workload', workload)).toEqual([]);
    expect(workload).toMatchObject({
      ...body,
      status: 'PENDING',
      tenant: 'default',
      attempt: 0,
      idempotencyKey: null,
    });
    expect(res.headers.get('location')).toBe(`/v1/workloads/${workload.id}`);
    const got = await call(`${base}/v1/workloads/${workload.id}`);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual(workload);
  });

  it('applies the defaults: priority 500, maxAttempts 3', async () => {
    const res = await post('/v1/workloads', { type: 'noop', input: null });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ priority: 500, maxAttempts: 3, input: null });
  });

  it('answers 202 SUBMITTED, a valid Workload, when nothing ingests within SUBMIT_WAIT_MS; it is ingested later', async () => {
    await pauseIngester();
    try {
      const started = Date.now();
      const res = await post('/v1/workloads', { type: 'noop', input: { late: true } });
      expect(res.status).toBe(202);
      expect(Date.now() - started).toBeGreaterThanOrEqual(SUBMIT_WAIT_MS - 50);
      const workload = (await res.json()) as WorkloadV1;
      expect(validateHttp('workload', workload)).toEqual([]);
      expect(workload).toMatchObject({
        status: 'SUBMITTED',
        type: 'noop',
        input: { late: true },
        priority: 500,
        workerId: null,
      });
      expect(res.headers.get('location')).toBe(`/v1/workloads/${workload.id}`);
      expect((await call(`${base}/v1/workloads/${workload.id}`)).status).toBe(404);
      resumeIngester();
      await waitFor(
        async () => (await call(`${base}/v1/workloads/${workload.id}`)).status === 200,
        {
          message: 'the 202 workload to be ingested',
        },
      );
    } finally {
      resumeIngester();
    }
  });

  it('answers the same workload for the same idempotency key (200 Idempotent-Replayed)', async () => {
    const body = { type: 'noop', input: { a: 1 }, idempotencyKey: `key-${uuidv7()}` };
    const first = await post('/v1/workloads', body);
    expect(first.status).toBe(201);
    const second = await post('/v1/workloads', { ...body, input: { a: 2 } });
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const a = (await first.json()) as WorkloadV1;
    const b = (await second.json()) as WorkloadV1;
    expect(b.id).toBe(a.id);
    expect(b.input).toEqual({ a: 1 });
    const rows = await db
      .selectFrom('workloads')
      .select('id')
      .where('idempotency_key', '=', body.idempotencyKey)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('dedupes the same idempotency key in the broker before anything is in PostgreSQL', async () => {
    await pauseIngester();
    const key = `broker-${uuidv7()}`;
    try {
      const first = await post('/v1/workloads', { type: 'noop', input: 1, idempotencyKey: key });
      expect(first.status).toBe(202);
      const second = await post('/v1/workloads', { type: 'noop', input: 2, idempotencyKey: key });
      expect(second.status).toBe(200);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      const a = (await first.json()) as WorkloadV1;
      const b = (await second.json()) as WorkloadV1;
      expect(b).toMatchObject({ id: a.id, input: 1, status: 'SUBMITTED' });
    } finally {
      resumeIngester();
    }
    await waitFor(
      async () =>
        (await db.selectFrom('workloads').select('id').where('idempotency_key', '=', key).execute())
          .length === 1,
    );
    const third = await post('/v1/workloads', { type: 'noop', input: 3, idempotencyKey: key });
    expect(third.status).toBe(200);
    const rows = await db
      .selectFrom('workloads')
      .select('id')
      .where('idempotency_key', '=', key)
      .execute();
    expect(rows).toHaveLength(1);
  });
});

describe('POST /v1/workloads/batch', () => {
  it('submits 1,000 workloads and answers 1,000 items in request order', async () => {
    const workloads = Array.from({ length: 1000 }, (_, i) => ({
      type: 'batch-order',
      input: { i },
    }));
    const res = await post('/v1/workloads/batch', { workloads });
    expect(res.status).toBe(201);
    const { items } = (await res.json()) as { items: WorkloadV1[] };
    expect(items).toHaveLength(1000);
    items.forEach((w, i) => expect(w).toMatchObject({ input: { i }, status: 'PENDING' }));
    expect(new Set(items.map((w) => w.id)).size).toBe(1000);
    const count = await db
      .selectFrom('workloads')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('type', '=', 'batch-order')
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1000);
  });

  it('answers existing idempotency keys with the existing workloads', async () => {
    const key = `batch-${uuidv7()}`;
    const first = (await (
      await post('/v1/workloads', { type: 'noop', input: 0, idempotencyKey: key })
    ).json()) as WorkloadV1;
    const res = await post('/v1/workloads/batch', {
      workloads: [
        { type: 'noop', input: 1 },
        { type: 'noop', input: 2, idempotencyKey: key },
      ],
    });
    expect(res.status).toBe(201);
    const { items } = (await res.json()) as { items: WorkloadV1[] };
    expect(items[0]).toMatchObject({ input: 1, status: 'PENDING' });
    expect(items[1]).toMatchObject({ id: first.id, input: 0 });
  });

  it('answers 202 with SUBMITTED entries for the workloads not yet persisted', async () => {
    await pauseIngester();
    try {
      const res = await post('/v1/workloads/batch', {
        workloads: [
          { type: 'noop', input: 'x' },
          { type: 'noop', input: 'y' },
        ],
      });
      expect(res.status).toBe(202);
      const { items } = (await res.json()) as { items: WorkloadV1[] };
      expect(items.map((w) => [w.status, w.input])).toEqual([
        ['SUBMITTED', 'x'],
        ['SUBMITTED', 'y'],
      ]);
      expect(validateHttp('workloadBatchResponse', { items })).toEqual([]);
    } finally {
      resumeIngester();
    }
  });
});

describe('bad input', () => {
  const big = JSON.stringify({ type: 'noop', input: 'x'.repeat(1024 * 1024) });
  const cases: {
    name: string;
    path?: string;
    body: string | unknown;
    contentType?: string;
    status: number;
    field?: string;
    detail?: RegExp;
  }[] = [
    { name: 'non-JSON', body: '{"type": "noop", ', status: 400, detail: /not valid JSON/ },
    {
      name: 'wrong content type',
      body: JSON.stringify({ type: 'noop', input: 1 }),
      contentType: 'text/plain',
      status: 415,
      detail: /application\/json/,
    },
    { name: 'body over 1 MiB', body: big, status: 413 },
    {
      name: 'unknown field',
      body: { type: 'noop', input: 1, colour: 'red' },
      status: 400,
      field: '/colour',
    },
    { name: 'missing input', body: { type: 'noop' }, status: 400, field: '/input' },
    {
      name: 'wrong type',
      body: { type: 'noop', input: 1, priority: 'high' },
      status: 400,
      field: '/priority',
    },
    {
      name: 'priority over 1000',
      body: { type: 'noop', input: 1, priority: 1001 },
      status: 400,
      field: '/priority',
    },
    {
      name: 'priority below 0',
      body: { type: 'noop', input: 1, priority: -1 },
      status: 400,
      field: '/priority',
    },
    {
      name: 'maxAttempts 0',
      body: { type: 'noop', input: 1, maxAttempts: 0 },
      status: 400,
      field: '/maxAttempts',
    },
    {
      name: 'maxAttempts over 100',
      body: { type: 'noop', input: 1, maxAttempts: 101 },
      status: 400,
      field: '/maxAttempts',
    },
    { name: 'empty type', body: { type: '', input: 1 }, status: 400, field: '/type' },
    {
      name: 'empty idempotencyKey',
      body: { type: 'noop', input: 1, idempotencyKey: '' },
      status: 400,
      field: '/idempotencyKey',
    },
    {
      name: 'over-long idempotencyKey',
      body: { type: 'noop', input: 1, idempotencyKey: 'k'.repeat(201) },
      status: 400,
      field: '/idempotencyKey',
    },
    {
      name: 'bad runAt',
      body: { type: 'noop', input: 1, runAt: 'tomorrow at noon' },
      status: 400,
      field: '/runAt',
    },
    {
      name: 'bad requirements/memoryMb',
      body: { type: 'noop', input: 1, requirements: { memoryMb: 'lots' } },
      status: 400,
      field: '/requirements/memoryMb',
    },
    {
      name: 'negative requirements/memoryMb',
      body: { type: 'noop', input: 1, requirements: { memoryMb: -5 } },
      status: 400,
      field: '/requirements/memoryMb',
    },
    {
      name: 'U+0000 in a string of the input',
      body: { type: 'noop', input: { s: 'a\u0000b' } },
      status: 400,
      field: '/input/s',
    },
    {
      name: 'a lone surrogate in the input',
      body: '{"type":"noop","input":{"s":"a\\ud800b"}}',
      status: 400,
      field: '/input/s',
    },
    {
      name: 'runAt in year 0',
      body: { type: 'noop', input: 1, runAt: '0000-01-01T00:00:00Z' },
      status: 400,
      field: '/runAt',
    },
    {
      name: 'runAt with an offset PostgreSQL cannot store',
      body: { type: 'noop', input: 1, runAt: '2030-01-01T00:00:00+20:00' },
      status: 400,
      field: '/runAt',
    },
    {
      name: 'input nested 200 levels deep',
      body: { type: 'noop', input: JSON.parse('['.repeat(200) + ']'.repeat(200)) as unknown },
      status: 400,
      detail: /nested deeper than 64 levels/,
    },
    { name: 'an array body', body: [{ type: 'noop', input: 1 }], status: 400, field: '' },
    {
      name: 'over-long batch',
      path: '/v1/workloads/batch',
      body: { workloads: Array.from({ length: 1001 }, () => ({ type: 'noop', input: 1 })) },
      status: 400,
      field: '/workloads',
    },
    {
      name: 'empty batch',
      path: '/v1/workloads/batch',
      body: { workloads: [] },
      status: 400,
      field: '/workloads',
    },
    {
      name: 'batch with one bad item',
      path: '/v1/workloads/batch',
      body: {
        workloads: [0, 1, 2, 3, 4].map((i) => ({
          type: 'noop',
          input: i,
          ...(i === 3 ? { priority: 5000 } : {}),
        })),
      },
      status: 400,
      field: '/workloads/3/priority',
    },
    {
      name: 'batch with a repeated idempotency key',
      path: '/v1/workloads/batch',
      body: {
        workloads: [
          { type: 'noop', input: 1, idempotencyKey: 'same' },
          { type: 'noop', input: 2 },
          { type: 'noop', input: 3, idempotencyKey: 'same' },
        ],
      },
      status: 400,
      field: '/workloads/2/idempotencyKey',
    },
  ];

  it.each(cases)(
    'refuses $name with $status, naming the problem, and publishes nothing',
    async (c) => {
      const before = await submitLastSeq();
      const res = await post(
        c.path ?? '/v1/workloads',
        c.body,
        c.contentType ? { 'content-type': c.contentType } : {},
      );
      expect(res.status).toBe(c.status);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const problem = (await res.json()) as Problem;
      expect(problem).toMatchObject({
        status: c.status,
        type: expect.any(String),
        title: expect.any(String),
        detail: expect.any(String),
      });
      // Every refusal names what is wrong in `errors`, even a request-level one (415, 413).
      expect(problem.errors?.length).toBeGreaterThan(0);
      if (c.field !== undefined) expect(problem.errors?.map((e) => e.path)).toContain(c.field);
      if (c.detail) expect(problem.detail).toMatch(c.detail);
      expect(await submitLastSeq()).toBe(before);
    },
  );

  it('refuses a chunked body over 1 MiB without Content-Length by the bytes read', async () => {
    const before = await submitLastSeq();
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"type":"noop","input":"'));
        if (sent > 20) {
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
          return;
        }
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const res = await call(`${base}/v1/workloads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await submitLastSeq()).toBe(before);
  });

  it('refuses a malformed id in the path with 400 naming it', async () => {
    const res = await call(`${base}/v1/workloads/not-a-uuid`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as Problem).errors).toEqual([
      { path: 'id', in: 'path', message: expect.any(String) },
    ]);
  });

  it('answers 404 for an unknown id and an unknown route', async () => {
    const res = await call(`${base}/v1/workloads/${uuidv7()}`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as Problem).errors).toEqual([
      { path: 'id', in: 'path', message: expect.stringMatching(/^no workload /) },
    ]);
    const route = await call(`${base}/v1/nothing-here`);
    expect(route.status).toBe(404);
    expect(route.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('commands', () => {
  async function commandMessages(): Promise<number> {
    await nats.nc.flush();
    return (await nats.jsm.streams.info(STREAMS.command.name)).state.last_seq;
  }

  it('refuses to cancel a finished workload with 409 naming its status, and sends nothing', async () => {
    const id = await insertWorkload({ status: 'COMPLETED' });
    const before = await commandMessages();
    const res = await post(`/v1/workloads/${id}/cancel`, '');
    expect(res.status).toBe(409);
    const problem = (await res.json()) as Problem;
    expect(problem.detail).toContain('already ended with status COMPLETED');
    expect(problem.errors).toEqual([{ path: 'id', in: 'path', message: problem.detail }]);
    expect(await commandMessages()).toBe(before);
  });

  it('sends a cancel command for a PENDING workload and answers 202 with the workload', async () => {
    const id = await insertWorkload({ status: 'PENDING' });
    const res = await post(`/v1/workloads/${id}/cancel`, { reason: 'not needed' });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ id, status: 'PENDING' });
    const seq = await commandMessages();
    const stored = await nats.jsm.streams.getMessage(STREAMS.command.name, { seq });
    const decoded = decode('command', stored!.data);
    expect(decoded.ok && decoded.value).toMatchObject({
      workloadId: id,
      command: 'cancel',
      reason: 'not needed',
    });
    expect(stored!.subject).toBe(SUBJECTS.command('default'));
  });

  it('accepts an empty body or {} and refuses unknown fields', async () => {
    const id = await insertWorkload({ status: 'RUNNING' });
    expect((await call(`${base}/v1/workloads/${id}/pause`, { method: 'POST' })).status).toBe(202);
    expect((await post(`/v1/workloads/${id}/pause`, {})).status).toBe(202);
    const bad = await post(`/v1/workloads/${id}/pause`, { force: true });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Problem).errors?.[0]?.path).toBe('/force');
  });

  it('pauses only PENDING/SCHEDULED/RUNNING and resumes only PAUSED', async () => {
    const paused = await insertWorkload({ status: 'PAUSED' });
    expect((await post(`/v1/workloads/${paused}/pause`, '')).status).toBe(409);
    expect((await post(`/v1/workloads/${paused}/resume`, '')).status).toBe(202);
    const pending = await insertWorkload({ status: 'PENDING' });
    const res = await post(`/v1/workloads/${pending}/resume`, '');
    expect(res.status).toBe(409);
    expect(((await res.json()) as Problem).detail).toContain('not PAUSED');
    expect((await post(`/v1/workloads/${uuidv7()}/cancel`, '')).status).toBe(404);
  });
});

describe('GET /v1/workloads', () => {
  it('pages newest first with a cursor and filters by status and type', async () => {
    const type = `list-${Date.now()}`;
    const ids: string[] = [];
    for (const status of ['PENDING', 'RUNNING', 'PENDING', 'COMPLETED', 'PENDING'])
      ids.push(await insertWorkload({ type, status }));
    const newestFirst = [...ids].reverse();

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Response = await call(
        `${base}/v1/workloads?type=${type}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: WorkloadV1[]; nextCursor: string | null };
      expect(validateHttp('workloadList', page)).toEqual([]);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((w) => w.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(seen).toEqual(newestFirst);
    expect(pages).toBe(3);

    const pending = (await (
      await call(`${base}/v1/workloads?type=${type}&status=PENDING`)
    ).json()) as { items: WorkloadV1[]; nextCursor: string | null };
    expect(pending.items.map((w) => w.id)).toEqual([ids[4], ids[2], ids[0]]);
    expect(pending.nextCursor).toBeNull();
  });

  it.each([
    ['status=pending', 'status'],
    ['status=NOPE', 'status'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=ten', 'limit'],
    ['cursor=%%%', 'cursor'],
    ['cursor=bm90LWEtdXVpZA', 'cursor'],
    ['type=%00', 'type'],
    ['type=two%20words', 'type'],
  ])('refuses ?%s with 400 naming %s in the query', async (qs, name) => {
    const res = await call(`${base}/v1/workloads?${qs}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as Problem).errors).toEqual([
      { path: name, in: 'query', message: expect.any(String) },
    ]);
  });
});

/** Reads SSE events from a response until `count` events arrived. */
async function readEvents(
  res: Response,
  count: number,
): Promise<{ event: string; id?: string; data: unknown }[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const events: { event: string; id?: string; data: unknown }[] = [];
  while (events.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      const id = /^id: (.*)$/m.exec(block)?.[1];
      if (event)
        events.push({ event, ...(id === undefined ? {} : { id }), data: JSON.parse(data) });
    }
  }
  reader.releaseLock();
  return events;
}

/** A progress event of attempt 1 of `id`. */
function progressEvent(id: string, progress: { fraction: number; message?: string }): Uint8Array {
  return encode('event', { ...envelope(), workloadId: id, kind: 'progress', attempt: 1, progress });
}

/**
 * A RUNNING → COMPLETED status event of `id`, with the snapshot given (or none): the stream reads
 * the change from workload_events.
 */
function completedEvent(id: string, workload?: WorkloadV1): Uint8Array {
  return encode('event', {
    ...envelope(),
    workloadId: id,
    kind: 'status',
    fromStatus: 'RUNNING',
    toStatus: 'COMPLETED',
    attempt: 1,
    reason: 'done',
    ...(workload === undefined ? {} : { workload }),
  });
}

/** Moves `id` to `to` as the scheduler does (the row and its workload_events row); the event id. */
async function recordChange(
  id: string,
  from: string | null,
  to: string,
  reason: string,
): Promise<string> {
  await db.updateTable('workloads').set({ status: to }).where('id', '=', id).execute();
  const row = await db
    .insertInto('workload_events')
    .values({ workload_id: id, from_status: from, to_status: to, attempt: 1, reason })
    .returning('id')
    .executeTakeFirstOrThrow();
  return String(row.id);
}

describe('live events and logs', () => {
  it('starts the SSE stream with the current state, then forwards progress, status and log lines', async () => {
    const id = await insertWorkload({ status: 'PENDING' });
    const runningId = await recordChange(id, 'PENDING', 'RUNNING', 'started');
    const controller = new AbortController();
    const res = await call(`${base}/v1/workloads/${id}/events`, { signal: controller.signal });
    try {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const [first] = await readEvents(res, 1);
      expect(first).toMatchObject({
        event: 'status',
        id: runningId,
        data: { workloadId: id, toStatus: 'RUNNING', workload: { id, status: 'RUNNING' } },
      });

      await nats.js.publish(
        SUBJECTS.events(id),
        progressEvent(id, { fraction: 0.5, message: 'half' }),
      );
      await nats.js.publish(
        SUBJECTS.logs(id),
        encode('log', {
          ...envelope(),
          workloadId: id,
          attempt: 1,
          lines: [{ at: new Date().toISOString(), stream: 'stdout', line: 'hello' }],
        }),
      );
      const completedId = await recordChange(id, 'RUNNING', 'COMPLETED', 'done');
      // The event's own snapshot is the workload as the change left it: it is the one sent.
      const current = (await (await call(`${base}/v1/workloads/${id}`)).json()) as WorkloadV1;
      const later = {
        ...current,
        attempt: 1,
        updatedAt: new Date(Date.now() + 1000).toISOString(),
      };
      await nats.js.publish(SUBJECTS.events(id), completedEvent(id, later));
      const next = await readEvents(res, 3);
      expect(next).toEqual([
        { event: 'progress', data: { workloadId: id, attempt: 1, fraction: 0.5, message: 'half' } },
        {
          event: 'log',
          data: {
            workloadId: id,
            attempt: 1,
            at: expect.any(String),
            stream: 'stdout',
            line: 'hello',
          },
        },
        {
          event: 'status',
          id: completedId,
          data: {
            workloadId: id,
            workload: later,
            fromStatus: 'RUNNING',
            toStatus: 'COMPLETED',
            reason: 'done',
          },
        },
      ]);
    } finally {
      controller.abort();
    }
  });

  it('replays the changes after Last-Event-ID, then sends each live change once', async () => {
    const id = await insertWorkload({ status: 'PENDING' });
    const pending = await recordChange(id, null, 'PENDING', 'submitted');
    const scheduled = await recordChange(id, 'PENDING', 'SCHEDULED', 'placed');
    const running = await recordChange(id, 'SCHEDULED', 'RUNNING', 'started');
    let completed = '';
    const controller = new AbortController();
    const res = await call(`${base}/v1/workloads/${id}/events`, {
      signal: controller.signal,
      headers: { 'Last-Event-ID': pending },
    });
    try {
      expect(res.status).toBe(200);
      const replayed = await readEvents(res, 2);
      expect(replayed.map((e) => [e.id, (e.data as { toStatus: string }).toStatus])).toEqual([
        [scheduled, 'SCHEDULED'],
        [running, 'RUNNING'],
      ]);
      // A trigger whose change was sent already sends nothing; the next change comes once.
      nats.nc.publish(SUBJECTS.events(id), completedEvent(id));
      completed = await recordChange(id, 'RUNNING', 'COMPLETED', 'done');
      nats.nc.publish(SUBJECTS.events(id), completedEvent(id));
      const rest = await readEvents(res, 2); // the stream ends after the final status
      expect(rest).toEqual([
        {
          event: 'status',
          id: completed,
          data: expect.objectContaining({ fromStatus: 'RUNNING', toStatus: 'COMPLETED' }),
        },
      ]);
    } finally {
      controller.abort();
    }

    // ?lastEventId= for a first connect; the header wins over it.
    const byQuery = await call(`${base}/v1/workloads/${id}/events?lastEventId=${running}`);
    expect((await readEvents(byQuery, 2)).map((e) => e.id)).toEqual([completed]);
    const both = await call(`${base}/v1/workloads/${id}/events?lastEventId=${pending}`, {
      headers: { 'Last-Event-ID': running },
    });
    expect((await readEvents(both, 2)).map((e) => e.id)).toEqual([completed]);
    // Resumed after the final status: nothing more will come, and an EventSource stops.
    const after = await call(`${base}/v1/workloads/${id}/events`, {
      headers: { 'Last-Event-ID': completed },
    });
    expect(after.status).toBe(204);
  });

  it('answers 400 naming a Last-Event-ID that is no event id', async () => {
    const id = await insertWorkload();
    const res = await call(`${base}/v1/workloads/${id}/events`, {
      headers: { 'Last-Event-ID': 'abc' },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Problem).errors).toEqual([
      { path: 'Last-Event-ID', in: 'header', message: expect.any(String) },
    ]);
  });

  it('answers 404 for the events of an unknown workload', async () => {
    expect((await call(`${base}/v1/workloads/${uuidv7()}/events`)).status).toBe(404);
  });

  it('reads the log lines of a workload from NIYANTA_LOGS, newest `limit` lines', async () => {
    const id = await insertWorkload();
    const other = await insertWorkload();
    const at = new Date().toISOString();
    for (const [workloadId, lines] of [
      [id, ['one', 'two']],
      [other, ['not mine']],
      [id, ['three']],
    ] as const) {
      await nats.js.publish(
        SUBJECTS.logs(workloadId),
        encode('log', {
          ...envelope(),
          workloadId,
          attempt: 1,
          lines: lines.map((line) => ({ at, stream: 'stdout' as const, line })) as LogV1['lines'],
        }),
      );
    }
    const all = (await (await call(`${base}/v1/workloads/${id}/logs`)).json()) as {
      items: { line: string }[];
    };
    expect(all.items.map((l) => l.line)).toEqual(['one', 'two', 'three']);
    expect(all.items[0]).toEqual({ at, stream: 'stdout', line: 'one' });
    const tail = (await (await call(`${base}/v1/workloads/${id}/logs?limit=2`)).json()) as {
      items: { line: string }[];
    };
    expect(tail.items.map((l) => l.line)).toEqual(['two', 'three']);
    const none = (await (
      await call(`${base}/v1/workloads/${await insertWorkload()}/logs`)
    ).json()) as { items: unknown[] };
    expect(none.items).toEqual([]);
  });

  it('follows the log lines as SSE with ?follow=true', async () => {
    const id = await insertWorkload();
    const at = new Date().toISOString();
    await nats.js.publish(
      SUBJECTS.logs(id),
      encode('log', {
        ...envelope(),
        workloadId: id,
        attempt: 1,
        lines: [{ at, stream: 'stderr', line: 'before' }],
      }),
    );
    const controller = new AbortController();
    const res = await call(`${base}/v1/workloads/${id}/logs?follow=true`, {
      signal: controller.signal,
    });
    try {
      expect(res.status).toBe(200);
      const [first] = await readEvents(res, 1);
      expect(first).toEqual({
        event: 'log',
        data: { workloadId: id, attempt: 1, at, stream: 'stderr', line: 'before' },
      });
      await nats.js.publish(
        SUBJECTS.logs(id),
        encode('log', {
          ...envelope(),
          workloadId: id,
          attempt: 2,
          lines: [{ at, stream: 'stdout', line: 'after' }],
        }),
      );
      const [second] = await readEvents(res, 1);
      expect(second).toMatchObject({ event: 'log', data: { attempt: 2, line: 'after' } });
    } finally {
      controller.abort();
    }
  });
});

describe('checkpoints and workers', () => {
  it('lists checkpoints newest first without their data', async () => {
    const id = await insertWorkload({ status: 'RUNNING' });
    for (const seq of [1, 2]) {
      await db
        .insertInto('checkpoints')
        .values({
          workload_id: id,
          seq,
          attempt: 1,
          size: 10 * seq,
          sha256: `sha${seq}`,
          storage: 'inline',
          data: Buffer.from('x'),
          blob_key: null,
        })
        .execute();
    }
    const res = await call(`${base}/v1/workloads/${id}/checkpoints`);
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: Record<string, unknown>[] };
    expect(items.map((c) => c['seq'])).toEqual([2, 1]);
    expect(items[0]).toEqual({
      seq: 2,
      attempt: 1,
      size: 20,
      sha256: 'sha2',
      storage: 'inline',
      createdAt: expect.any(String),
    });
  });

  it('lists workers, filtered by status', async () => {
    const now = new Date().toISOString();
    const worker = (id: string, status: string) => ({
      id,
      status,
      capacity: JSON.stringify({ slots: 4, cpu: 2, memoryMb: 1024, gpu: 0 }),
      free_slots: 3,
      labels: JSON.stringify({ zone: 'a' }),
      zone: 'z1',
      types: JSON.stringify(['sleep']),
      running: JSON.stringify([{ workloadId: uuidv7(), attempt: 1 }]),
      heartbeat_interval_ms: 1000,
      last_heartbeat_at: now,
      started_at: now,
      updated_at: now,
    });
    await db
      .insertInto('workers')
      .values([worker('w-active', 'ACTIVE'), worker('w-dead', 'DEAD')])
      .execute();
    const all = (await (await call(`${base}/v1/workers`)).json()) as { items: { id: string }[] };
    expect(validateHttp('workerList', all)).toEqual([]);
    expect(all.items.map((w) => w.id)).toEqual(['w-active', 'w-dead']);
    const active = (await (await call(`${base}/v1/workers?status=ACTIVE`)).json()) as {
      items: Record<string, unknown>[];
    };
    expect(active.items).toEqual([
      expect.objectContaining({
        id: 'w-active',
        status: 'ACTIVE',
        freeSlots: 3,
        zone: 'z1',
        types: ['sleep'],
        capacity: { slots: 4, cpu: 2, memoryMb: 1024, gpu: 0 },
      }),
    ]);
    const bad = await call(`${base}/v1/workers?status=active`);
    expect(bad.status).toBe(400);
  });
});

describe('operations', () => {
  it('serves the OpenAPI document and Prometheus metrics with submission counters', async () => {
    const doc = (await (await call(`${base}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/v1/workloads/{id}/events');
    const metrics = await (await call(`${base}/metrics`)).text();
    expect(metrics).toMatch(/niyanta_api_submissions_total\{outcome="accepted"\} [1-9]/);
    expect(metrics).toMatch(/niyanta_api_submissions_total\{outcome="refused"\} [1-9]/);
    expect(metrics).toContain('route="/v1/workloads/:id"');
    expect(metrics).toContain('process_cpu_seconds_total');
  });

  // Last: it stops the nats-server.
  it('is ready with NATS and PostgreSQL up, and not ready once the nats-server stops', async () => {
    const ready = await call(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { nats: true, postgres: true } });
    await pauseIngester();
    await nats.close();
    await natsServer.stop();
    const notReady = await waitFor(
      async () => {
        const res = await call(`${base}/readyz`);
        return res.status === 503 ? ((await res.json()) as unknown) : undefined;
      },
      { message: '/readyz to answer 503' },
    );
    expect(notReady).toEqual({ status: 'not ready', checks: { nats: false, postgres: true } });
    expect((await call(`${base}/healthz`)).status).toBe(200);
    const refused = await post('/v1/workloads', { type: 'noop', input: 1 });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).not.toBeNull();
  });
});
