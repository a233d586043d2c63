import {
  Niyanta,
  NiyantaApiError,
  WorkloadCancelledError,
  WorkloadFailedError,
} from '@niyanta/client';
import type { StatusEvent } from '@niyanta/client';
import { waitFor } from '@niyanta/testing';
import { E2E_ROOT_KEY, startSystem } from './support/system.js';
import type { System } from './support/system.js';
import { startTcpProxy } from './support/tcp-proxy.js';

// @niyanta/client against every service as its own process: the public HTTP API only.
describe('@niyanta/client', () => {
  let sys: System;
  let nt: Niyanta;

  beforeAll(async () => {
    sys = await startSystem({ workers: [{ id: 'w-client-1', slots: 8 }] });
    nt = new Niyanta({ url: sys.apiUrl, apiKey: E2E_ROOT_KEY });
  }, 120_000);
  afterAll(async () => {
    await sys?.[Symbol.asyncDispose]();
  });

  it('submits and awaits the result of a completed workload', async () => {
    const handle = await nt.submit({ type: 'sleep', input: { durationMs: 200, steps: 2 } });
    expect(handle.id).toMatch(/^[0-9a-f-]{36}$/);
    await expect(handle.result({ timeoutMs: 30_000 })).resolves.toMatchObject({});
    const done = await handle.get();
    expect(done.status).toBe('COMPLETED');
    expect(await handle.result()).toEqual(done.result);
  });

  it('throws WorkloadFailedError carrying the error of a failed workload', async () => {
    const handle = await nt.submit({
      type: 'sleep',
      input: { durationMs: 10, failTimes: 5 },
      maxAttempts: 1,
    });
    const err = await handle.result({ timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkloadFailedError);
    const failed = err as WorkloadFailedError;
    expect(failed.workload.status).toBe('FAILED');
    expect(failed.error?.message).toEqual(expect.any(String));
    expect(failed.message).toContain(failed.error!.message);
  });

  it('throws WorkloadCancelledError after cancel()', async () => {
    const handle = await nt.submit({ type: 'sleep', input: { durationMs: 60_000 } });
    await sys.waitForStatus(handle.id, 'RUNNING');
    await handle.cancel('test');
    await expect(handle.result({ timeoutMs: 30_000 })).rejects.toBeInstanceOf(
      WorkloadCancelledError,
    );
  });

  it('turns a refused request into a NiyantaApiError naming the field', async () => {
    const err = await nt
      .submit({ type: 'sleep', input: { durationMs: 1 }, priority: 'high' as unknown as number })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NiyantaApiError);
    const api = err as NiyantaApiError;
    expect(api.status).toBe(400);
    expect(api.code).toEqual(expect.any(String));
    expect(api.title).toEqual(expect.any(String));
    expect(api.errors.map((e) => e.path)).toContain('/priority');
  });

  it('lists workloads as pages and shows the workers', async () => {
    const type = 'noop';
    await nt.submitBatch([1, 2, 3].map(() => ({ type, input: {} })));
    const pages = [];
    for await (const page of nt.list({ type, limit: 2 })) pages.push(page);
    expect(pages.map((p) => p.items.length)).toEqual([2, 1]);
    expect(pages.at(-1)!.nextCursor).toBeNull();
    const workers = await nt.workers();
    expect(workers.map((w) => w.id)).toContain('w-client-1');
  });

  it('follows events across cut connections without repeating or losing a status', async () => {
    await using proxy = await startTcpProxy(Number(new URL(sys.apiUrl).port));
    const viaProxy = new Niyanta({
      url: proxy.url,
      apiKey: E2E_ROOT_KEY,
      reconnect: { baseDelayMs: 50 },
    });
    const handle = await viaProxy.submit({
      type: 'sleep',
      input: { durationMs: 3_000, steps: 30 },
    });
    const statuses: StatusEvent[] = [];
    let cuts = 0;
    let progressSinceCut = 0;
    for await (const e of handle.events()) {
      if (e.type === 'status') statuses.push(e);
      if (e.type === 'progress' && ++progressSinceCut >= 3 && cuts < 3) {
        progressSinceCut = 0;
        cuts++;
        expect(proxy.cut()).toBeGreaterThan(0);
      }
    }
    expect(cuts).toBe(3);
    const seq = statuses.map((s) => s.toStatus);
    expect(seq.at(-1)).toBe('COMPLETED');
    expect(seq.filter((s) => s === 'RUNNING')).toHaveLength(1);
    expect(new Set(seq).size).toBe(seq.length);
  });

  it('resumes with Last-Event-ID: every status passed while cut off comes once, in order', async () => {
    await using proxy = await startTcpProxy(Number(new URL(sys.apiUrl).port));
    const viaProxy = new Niyanta({
      url: proxy.url,
      apiKey: E2E_ROOT_KEY,
      reconnect: { baseDelayMs: 50, maxDelayMs: 200, maxAttempts: 200 },
    });
    // runAt keeps it PENDING until the stream is cut; it then moves on while no stream is open.
    const handle = await nt.submit({
      type: 'sleep',
      input: { durationMs: 1_500, steps: 3 },
      runAt: new Date(Date.now() + 1_500).toISOString(),
    });
    const statuses: string[] = [];
    for await (const e of viaProxy.workload(handle.id).events()) {
      if (e.type !== 'status') continue;
      statuses.push(e.toStatus);
      if (e.toStatus === 'PENDING' || e.toStatus === 'RUNNING') {
        expect(proxy.cut()).toBeGreaterThan(0);
        const release = proxy.hold();
        await sys.waitForStatus(handle.id, e.toStatus === 'PENDING' ? 'RUNNING' : 'COMPLETED');
        release();
      }
    }
    const history = await (
      await fetch(`${sys.apiUrl}/v1/workloads/${handle.id}/history`, {
        headers: { authorization: `Bearer ${E2E_ROOT_KEY}` },
      })
    ).json();
    const recorded = (history as { items: { toStatus: string }[] }).items.map((i) => i.toStatus);
    expect(recorded).toEqual(['PENDING', 'SCHEDULED', 'RUNNING', 'COMPLETED']);
    expect(statuses).toEqual(recorded);
    const resumed = proxy.requests.filter((r) => /^last-event-id: \d+\r$/im.test(r));
    expect(resumed.length).toBeGreaterThanOrEqual(2);
  });

  it('follows events across an api restart and still ends with the result', async () => {
    const handle = await nt.submit({ type: 'sleep', input: { durationMs: 4_000, steps: 40 } });
    const statuses: string[] = [];
    let restarted = false;
    for await (const e of nt.workload(handle.id).events()) {
      if (e.type === 'status') statuses.push(e.toStatus);
      if (e.type === 'progress' && !restarted) {
        restarted = true;
        await sys.restartService('api');
      }
    }
    expect(restarted).toBe(true);
    expect(statuses.at(-1)).toBe('COMPLETED');
    expect(statuses.filter((s) => s === 'RUNNING')).toHaveLength(1);
    expect(new Set(statuses).size).toBe(statuses.length);
  });

  it('retries 429 answers as Retry-After says, and surfaces them when retries are off', async () => {
    const tenant = `rl-${Date.now().toString(36)}`;
    await nt.createTenant({ id: tenant, rateLimit: { requestsPerSecond: 1, burst: 1 } });
    // Root keys are not rate-limited: a key of the tenant is.
    const { key } = await new Niyanta({
      url: sys.apiUrl,
      apiKey: E2E_ROOT_KEY,
      tenant,
    }).createApiKey({ name: 'rate-limited', role: 'viewer' });
    let rateLimited = 0;
    const counting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (res.status === 429) rateLimited++;
      return res;
    };
    const limited = new Niyanta({ url: sys.apiUrl, apiKey: key, fetch: counting });
    for (let i = 0; i < 3; i++) await limited.listPage({ limit: 1 });
    expect(rateLimited).toBeGreaterThan(0);

    const noRetry = new Niyanta({
      url: sys.apiUrl,
      apiKey: key,
      retry: { maxRetries: 0 },
    });
    const errors = await Promise.all(
      [1, 2, 3].map(() =>
        noRetry.listPage({ limit: 1 }).then(
          () => null,
          (e: unknown) => e,
        ),
      ),
    );
    const refused = errors.find((e) => e instanceof NiyantaApiError) as NiyantaApiError;
    expect(refused.status).toBe(429);
  });

  it('resends a submission whose answer was lost with the same idempotency key', async () => {
    const type = `lost-answer-${Date.now().toString(36)}`;
    const keys: string[] = [];
    let dropped = false;
    const losing: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method === 'POST' && String(input).endsWith('/v1/workloads')) {
        keys.push((JSON.parse(String(init.body)) as { idempotencyKey: string }).idempotencyKey);
        // The API has the submission; the answer is lost on the way back.
        if (!dropped) {
          dropped = true;
          await res.body?.cancel();
          throw new TypeError('fetch failed', { cause: new Error('ECONNRESET') });
        }
      }
      return res;
    };
    const client = new Niyanta({
      url: sys.apiUrl,
      apiKey: E2E_ROOT_KEY,
      fetch: losing,
      retry: { baseDelayMs: 10 },
    });
    const handle = await client.submit({ type, input: {} });
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
    expect(handle.replayed).toBe(true);
    const page = await waitFor(async () => {
      const p = await nt.listPage({ type });
      return p.items.length > 0 ? p : undefined;
    });
    expect(page.items.map((w) => w.id)).toEqual([handle.id]);
  });
});
