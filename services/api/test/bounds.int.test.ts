// The API's bounds on open streams, slow readers, list pages and validation answers, against a
// real NATS and PostgreSQL, with real HTTP clients (fetch, and a raw socket that stops reading).
import { connect as connectTcp } from 'node:net';
import type { Socket } from 'node:net';
import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { SUBJECTS, encode, envelope, uuidv7 } from '@niyanta/messages';
import type { LogV1, WorkloadV1 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import type { Nats } from '@niyanta/runtime';
import { createTestDatabase, startNatsServer, waitFor } from '@niyanta/testing';
import type { NatsServerHandle, TestDatabase } from '@niyanta/testing';
import type { Kysely } from 'kysely';
import { loadConfig, start } from '../src/index.js';
import type { ApiServer } from '../src/index.js';

const ROOT_KEY = 'test-root-key-0123456789abcdef0123456789';
const AUTH = { authorization: `Bearer ${ROOT_KEY}` };
const log = createLogger('api-bounds-test', 'silent');

let natsServer: NatsServerHandle;
let database: TestDatabase;
let nats: Nats;
let db: Kysely<Database>;
const apis: ApiServer[] = [];

beforeAll(async () => {
  natsServer = await startNatsServer();
  database = await createTestDatabase();
  nats = await connectNats({ url: natsServer.url, name: 'api-bounds-test', log });
  db = createDb(database.url, { max: 4 });
});

afterAll(async () => {
  for (const api of apis) await api.close();
  await nats?.close();
  await db?.destroy();
  await database?.[Symbol.asyncDispose]();
  await natsServer?.[Symbol.asyncDispose]();
});

async function startApi(env: Record<string, string> = {}): Promise<string> {
  const api = await start(
    loadConfig({
      NATS_URL: natsServer.url,
      DATABASE_URL: database.url,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      API_ROOT_KEY: ROOT_KEY,
      ...env,
    }),
  );
  apis.push(api);
  await api.ready;
  return `http://127.0.0.1:${api.port}`;
}

async function insertWorkload(
  fields: { status?: string; type?: string; input?: unknown } = {},
): Promise<string> {
  const id = uuidv7();
  await db
    .insertInto('workloads')
    .values({
      id,
      tenant: 'default',
      type: fields.type ?? 'noop',
      status: fields.status ?? 'RUNNING',
      priority: 500,
      max_attempts: 3,
      input: JSON.stringify(fields.input ?? { n: 1 }),
      labels: JSON.stringify({}),
      requirements: JSON.stringify({}),
    })
    .execute();
  return id;
}

/** Opens an event stream; resolves once its headers are in. */
async function openStream(base: string, id: string, signal: AbortSignal): Promise<Response> {
  return fetch(`${base}/v1/workloads/${id}/events`, { headers: AUTH, signal });
}

/** The value of one unlabelled metric of /metrics. */
async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

describe('event stream limits', () => {
  it('answers 429 with Retry-After past SSE_MAX_STREAMS_PER_TENANT, and again once one closes', async () => {
    const base = await startApi({ SSE_MAX_STREAMS_PER_TENANT: '2' });
    const id = await insertWorkload();
    const first = new AbortController();
    const second = new AbortController();
    try {
      expect((await openStream(base, id, first.signal)).status).toBe(200);
      expect((await openStream(base, id, second.signal)).status).toBe(200);
      const over = await fetch(`${base}/v1/workloads/${id}/logs?follow=true`, { headers: AUTH });
      expect(over.status).toBe(429);
      expect(over.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await over.json()).toMatchObject({ status: 429, code: 'TOO_MANY_STREAMS' });
      first.abort();
      await waitFor(async () => (await metric(base, 'niyanta_api_sse_streams')) === 1, {
        timeoutMs: 5_000,
      });
      const again = new AbortController();
      expect((await openStream(base, id, again.signal)).status).toBe(200);
      again.abort();
    } finally {
      first.abort();
      second.abort();
    }
  });

  it('answers 429 past SSE_MAX_STREAMS for the whole instance', async () => {
    const base = await startApi({ SSE_MAX_STREAMS: '1' });
    const id = await insertWorkload();
    const open = new AbortController();
    try {
      expect((await openStream(base, id, open.signal)).status).toBe(200);
      const over = await openStream(base, id, new AbortController().signal);
      expect(over.status).toBe(429);
      expect(((await over.json()) as { detail: string }).detail).toMatch(/API instance/);
    } finally {
      open.abort();
    }
  });

  it('sends the final status of an ended workload and closes the stream', async () => {
    const base = await startApi();
    const id = await insertWorkload({ status: 'COMPLETED' });
    const res = await fetch(`${base}/v1/workloads/${id}/events`, { headers: AUTH });
    const text = await res.text(); // resolves only once the server ends the stream
    expect(text).toContain('event: status');
    expect(text).toContain('"toStatus":"COMPLETED"');
  });

  it('closes a live stream after forwarding a final status', async () => {
    const base = await startApi();
    const id = await insertWorkload({ status: 'RUNNING' });
    const res = await fetch(`${base}/v1/workloads/${id}/events`, { headers: AUTH });
    const body = res.text();
    await waitFor(async () => (await metric(base, 'niyanta_api_sse_streams')) === 1, {
      timeoutMs: 5_000,
    });
    const row = await db
      .updateTable('workloads')
      .set({ status: 'FAILED' })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    // The stream reads the change from workload_events, as the scheduler commits it.
    await db
      .insertInto('workload_events')
      .values({
        workload_id: id,
        from_status: 'RUNNING',
        to_status: 'FAILED',
        attempt: 1,
        reason: 'boom',
      })
      .execute();
    const { toWorkload } = await import('@niyanta/db');
    const workload: WorkloadV1 = toWorkload(row);
    nats.nc.publish(
      SUBJECTS.events(id),
      encode('event', {
        ...envelope(),
        workloadId: id,
        kind: 'status',
        fromStatus: 'RUNNING',
        toStatus: 'FAILED',
        attempt: 1,
        reason: 'boom',
        workload,
      }),
    );
    const text = await body;
    expect(text).toContain('"toStatus":"FAILED"');
  });
});

describe('a client that reads too slowly', () => {
  it('is disconnected once its queue passes SSE_QUEUE_MAX_BYTES; the API stays bounded', async () => {
    const base = await startApi({ SSE_QUEUE_MAX_BYTES: '65536' });
    const port = Number(new URL(base).port);
    const id = await insertWorkload({ status: 'RUNNING' });
    const socket: Socket = connectTcp(port, '127.0.0.1');
    let received = 0;
    let ended = false;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    socket.on('close', () => (ended = true));
    socket.write(
      `GET /v1/workloads/${id}/events HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer ${ROOT_KEY}\r\n\r\n`,
    );
    await waitFor(() => received > 0, { timeoutMs: 5_000 });
    socket.pause(); // reads nothing more: the kernel buffers fill, then the API's queue

    // 64 MiB of log lines: far more than the socket buffers and the queue bound hold.
    const line = 'x'.repeat(16_000);
    const entry = { at: new Date().toISOString(), stream: 'stdout' as const, line };
    const lines: LogV1['lines'] = [entry, entry, entry, entry];
    const perMessage = line.length * lines.length;
    const published = 64 * 1024 * 1024;
    for (let sent = 0; sent < published; sent += perMessage) {
      nats.nc.publish(
        SUBJECTS.logs(id),
        encode('log', { ...envelope(), workloadId: id, attempt: 1, lines }),
      );
      if (sent % (4 * 1024 * 1024) < perMessage) await nats.nc.flush();
    }
    await nats.nc.flush();
    await waitFor(
      async () => (await metric(base, 'niyanta_api_sse_slow_disconnects_total')) === 1,
      {
        timeoutMs: 20_000,
      },
    );
    expect(await metric(base, 'niyanta_api_sse_streams')).toBe(0);
    // Reading again drains what the kernel held, then the end of the connection.
    socket.resume();
    await waitFor(() => ended, { timeoutMs: 10_000 });
    expect(received).toBeLessThan(published / 2);
    socket.destroy();

    // It can reconnect: the first event is the current state.
    const res = await fetch(`${base}/v1/workloads/${id}/events`, { headers: AUTH });
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain('"toStatus":"RUNNING"');
    await reader.cancel();
  });
});

describe('list pages', () => {
  it('stop early past LIST_MAX_BYTES with a nextCursor that goes on, items whole', async () => {
    const base = await startApi({ LIST_MAX_BYTES: '65536' });
    const type = `big-${uuidv7().slice(-8)}`;
    const big = { blob: 'y'.repeat(20_000) };
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await insertWorkload({ type, input: big }));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: Response = await fetch(
        `${base}/v1/workloads?type=${type}&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
        { headers: AUTH },
      );
      const text = await res.text();
      const page = JSON.parse(text) as { items: WorkloadV1[]; nextCursor: string | null };
      // Stops after the item that passes the bound: at most one item's size over it.
      expect(Buffer.byteLength(text)).toBeLessThan(65_536 + 25_000);
      for (const w of page.items) expect(w.input).toEqual(big);
      seen.push(...page.items.map((w) => w.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 20);
    expect(seen).toEqual([...ids].reverse());
    expect(pages).toBeGreaterThan(2);
  });
});

describe('validation answers', () => {
  it('list at most 20 field errors however many the body has', async () => {
    const base = await startApi();
    const res = await fetch(`${base}/v1/workloads/batch`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({
        workloads: Array.from({ length: 500 }, () => ({ type: 7, input: 'x', priority: 'high' })),
      }),
    });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: unknown[] };
    expect(problem.errors.length).toBeGreaterThan(0);
    expect(problem.errors.length).toBeLessThanOrEqual(20);
  });
});
