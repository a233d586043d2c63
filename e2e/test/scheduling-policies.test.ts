import type { WorkloadV1 } from '@niyanta/messages';
import { join } from 'node:path';
import { waitFor } from '@niyanta/testing';
import { E2E_AUTH, eventsOf, startSystem } from './support/system.js';
import type { System } from './support/system.js';

// Fair share, concurrency keys and preemption with every service as its own process.

const STUBBORN = join(__dirname, 'fixtures', 'workloads', 'stubborn');
/** PREEMPTION_GRACE_MS of the preemption system. */
const GRACE_MS = 2000;

/** Calls the API as the root key on `tenant` (the Niyanta-Tenant header). */
async function asTenant<T>(
  sys: System,
  tenant: string,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await fetch(`${sys.apiUrl}${path}`, {
    method,
    headers: { ...E2E_AUTH, 'content-type': 'application/json', 'niyanta-tenant': tenant },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function activeOf(sys: System, tenant: string): Promise<number> {
  const row = await sys.db
    .selectFrom('workloads')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('tenant', '=', tenant)
    .where('status', 'in', ['SCHEDULED', 'RUNNING'])
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('preemption', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({
      workers: [{ id: 'e2e-pre', slots: 1, env: { WORKLOAD_MODULES: STUBBORN } }],
      env: { PREEMPTION: 'graceful', PREEMPTION_GRACE_MS: String(GRACE_MS) },
    });
  }, 120_000);
  afterAll(async () => {
    await sys?.[Symbol.asyncDispose]();
  });

  it('lets a priority-900 workload preempt a priority-100 sleep, which resumes from its checkpoint', async () => {
    const low = await sys.submit({
      type: 'sleep',
      input: { durationMs: 6000, steps: 30 },
      priority: 100,
    });
    await waitFor(
      async () => {
        const { body } = await sys.api<WorkloadV1>('GET', `/v1/workloads/${low.id}`);
        return body.status === 'RUNNING' && (body.progress?.fraction ?? 0) >= 0.2;
      },
      { timeoutMs: 20_000, message: 'the low-priority sleep a fifth done' },
    );
    const high = await sys.submit({ type: 'sleep', input: { durationMs: 200 }, priority: 900 });
    await sys.waitForStatus(high.id, 'COMPLETED', 30_000);
    const done = await sys.waitForStatus(low.id, 'COMPLETED', 60_000);
    expect(done.attempt).toBeGreaterThanOrEqual(2);
    expect((done.result as { resumedFromStep: number }).resumedFromStep).toBeGreaterThan(0);
    const reasons = (await eventsOf(sys.db, low.id)).map((e) => e.reason);
    expect(reasons).toContain(`preempted by ${high.id}`);
    expect((await eventsOf(sys.db, high.id)).map((e) => e.reason)).toContain(
      `preempts ${low.id} on e2e-pre`,
    );
  });
  it('stops a victim whose handler ignores its signal once the grace has passed', async () => {
    const low = await sys.submit({ type: 'stubborn', input: { runMs: 6000 }, priority: 100 });
    const lowRunning = await sys.waitForStatus(low.id, 'RUNNING', 20_000);
    await waitFor(
      async () => {
        const { body } = await sys.api<WorkloadV1>('GET', `/v1/workloads/${low.id}`);
        return (body.progress?.fraction ?? 0) > 0;
      },
      { timeoutMs: 10_000, message: 'the stubborn run reporting progress' },
    );
    const submittedAt = Date.now();
    const high = await sys.submit({ type: 'sleep', input: { durationMs: 100 }, priority: 900 });
    const done = await sys.waitForStatus(high.id, 'COMPLETED', 30_000);
    // The victim's handler runs 6 s and ignores its preempt order: the worker stopped waiting for
    // it after the grace, so the preemptor ran on its slot long before the handler returned.
    expect(Date.parse(done.finishedAt!) - Date.parse(lowRunning.startedAt!)).toBeLessThan(6000);
    expect(Date.now() - submittedAt).toBeGreaterThanOrEqual(GRACE_MS);
    const events = await eventsOf(sys.db, low.id);
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          reason: `preempted by ${high.id}`,
          from_status: 'RUNNING',
          to_status: 'PENDING',
          attempt: 1,
        }),
      ]),
    );
    // It resumes from a checkpoint of its first attempt and ends on a later one.
    const resumed = await sys.waitForStatus(low.id, 'COMPLETED', 30_000);
    expect(resumed.attempt).toBe(2);
    expect(resumed.result).toMatchObject({ attempt: 2 });
    expect((resumed.result as { resumedFromStep: number }).resumedFromStep).toBeGreaterThan(0);
  });
});

describe('fair share and concurrency keys', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({
      workers: [
        { id: 'e2e-fair-1', slots: 10 },
        { id: 'e2e-fair-2', slots: 10 },
      ],
    });
    for (const id of ['tenant-a', 'tenant-b'])
      expect((await sys.api('POST', '/v1/tenants', { id, weight: 1 })).status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await sys?.[Symbol.asyncDispose]();
  });

  it('shares 2 workers x 10 slots about evenly between A (5,000 PENDING) and B (50)', async () => {
    const batch = (n: number, durationMs: number) => ({
      workloads: Array.from({ length: n }, () => ({
        type: 'sleep',
        input: { durationMs, steps: 1 },
      })),
    });
    for (let i = 0; i < 5; i++) {
      const res = await asTenant(sys, 'tenant-a', 'POST', '/v1/workloads/batch', batch(1000, 400));
      expect([200, 201, 202]).toContain(res.status);
    }
    await waitFor(async () => (await activeOf(sys, 'tenant-a')) === 20, {
      timeoutMs: 30_000,
      message: "tenant A's work on every slot",
    });
    const res = await asTenant(sys, 'tenant-b', 'POST', '/v1/workloads/batch', batch(50, 30_000));
    expect([200, 201, 202]).toContain(res.status);
    // About evenly within 10 s of B's first submission: B has 9 to 11 of the 20 slots.
    await waitFor(
      async () => {
        const b = await activeOf(sys, 'tenant-b');
        return b >= 9 && b <= 11;
      },
      { timeoutMs: 10_000, message: 'tenant B on about half of the slots' },
    );
    expect(await activeOf(sys, 'tenant-b')).toBeLessThanOrEqual(11);
  });

  it('runs an ordered concurrency key in submission order across a failure and its retry', async () => {
    const submitted: WorkloadV1[] = [];
    for (let i = 0; i < 3; i++) {
      const { status, body } = await asTenant<WorkloadV1>(
        sys,
        'tenant-b',
        'POST',
        '/v1/workloads',
        {
          type: 'sleep',
          input: { durationMs: 100, ...(i === 0 ? { failTimes: 1 } : {}) },
          priority: 1000,
          concurrencyKey: 'deploy',
          ordered: true,
          maxAttempts: 3,
        },
      );
      expect([201, 202]).toContain(status);
      submitted.push(body);
    }
    const done: WorkloadV1[] = [];
    for (const w of submitted) {
      await waitFor(
        async () => {
          const { body } = await asTenant<WorkloadV1>(
            sys,
            'tenant-b',
            'GET',
            `/v1/workloads/${w.id}`,
          );
          if (body.status !== 'COMPLETED') return undefined;
          done.push(body);
          return body;
        },
        { timeoutMs: 60_000, message: `${w.id} COMPLETED` },
      );
    }
    expect(done[0]!.attempt).toBe(2);
    for (let i = 1; i < done.length; i++)
      expect(Date.parse(done[i]!.startedAt!)).toBeGreaterThanOrEqual(
        Date.parse(done[i - 1]!.finishedAt!),
      );
  });
});
