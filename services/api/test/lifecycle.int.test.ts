import { createDb } from '@niyanta/db';
import { uuidv7 } from '@niyanta/messages';
import { createTestDatabase, freePort, startNatsServer, waitFor } from '@niyanta/testing';
import { loadConfig, start } from '../src/index.js';

/** The installation's root key in these tests; every /v1 request sends it. */
const ROOT_KEY = 'test-root-key-0123456789abcdef0123456789';
/** fetch with the root key's Authorization header. */
function call(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    ...init,
    headers: { authorization: `Bearer ${ROOT_KEY}`, ...(init.headers as Record<string, string>) },
  });
}

async function readiness(base: string): Promise<{ status: number; body: unknown }> {
  const res = await call(`${base}/readyz`);
  return { status: res.status, body: await res.json() };
}

describe('API lifecycle', () => {
  it('serves /healthz before NATS is reachable, becomes ready when it appears, and ends SSE streams on close', async () => {
    await using database = await createTestDatabase();
    const natsPort = await freePort();
    const api = await start(
      loadConfig({
        NATS_URL: `nats://127.0.0.1:${natsPort}`,
        DATABASE_URL: database.url,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        API_ROOT_KEY: ROOT_KEY,
      }),
    );
    let closed = false;
    try {
      const base = `http://127.0.0.1:${api.port}`;
      expect((await call(`${base}/healthz`)).status).toBe(200);
      const waiting = await waitFor(
        async () => {
          const r = await readiness(base);
          return r.status === 503 && (r.body as { checks: { postgres: boolean } }).checks.postgres
            ? r
            : undefined;
        },
        { message: 'PostgreSQL connected while NATS is not' },
      );
      expect(waiting.body).toEqual({
        status: 'not ready',
        checks: { nats: false, postgres: true },
      });
      const refused = await call(`${base}/v1/workloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'noop', input: 1 }),
      });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).not.toBeNull();

      await using _nats = await startNatsServer({ port: natsPort });
      await api.ready;
      expect((await readiness(base)).status).toBe(200);

      const db = createDb(database.url, { max: 1 });
      const id = uuidv7();
      try {
        await db
          .insertInto('workloads')
          .values({
            id,
            tenant: 'default',
            type: 'noop',
            status: 'RUNNING',
            priority: 500,
            max_attempts: 3,
            input: '1',
            labels: '{}',
            requirements: '{}',
          })
          .execute();
      } finally {
        await db.destroy();
      }
      const res = await call(`${base}/v1/workloads/${id}/events`);
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain('event: status');

      const started = Date.now();
      await api.close();
      closed = true;
      // The stream ends on close instead of holding shutdown until the client leaves.
      for (;;) {
        const next = await reader.read().catch(() => ({ done: true as const, value: undefined }));
        if (next.done) break;
      }
      expect(Date.now() - started).toBeLessThan(5_000);
      await expect(call(`${base}/healthz`)).rejects.toThrow();
    } finally {
      if (!closed) await api.close();
    }
  });

  it('closes promptly while NATS and PostgreSQL are still being retried', async () => {
    const api = await start(
      loadConfig({
        NATS_URL: `nats://127.0.0.1:${await freePort()}`,
        DATABASE_URL: `postgres://nobody@127.0.0.1:${await freePort()}/none`,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        API_ROOT_KEY: ROOT_KEY,
      }),
    );
    const base = `http://127.0.0.1:${api.port}`;
    expect((await call(`${base}/healthz`)).status).toBe(200);
    expect(await readiness(base)).toEqual({
      status: 503,
      body: { status: 'not ready', checks: { nats: false, postgres: false } },
    });
    const started = Date.now();
    await api.close();
    expect(Date.now() - started).toBeLessThan(3_000);
    await expect(api.ready).rejects.toBeDefined();
  });
});
