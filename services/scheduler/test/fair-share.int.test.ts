import { waitFor } from '@niyanta/testing';
import {
  startFakeWorker,
  startHarness,
  submission,
  submit,
  waitConsumerDrained,
  waitForWorkload,
  workload,
} from './harness.js';
import type { AssignmentItem, FakeWorker, Harness } from './harness.js';

jest.setTimeout(60_000);

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ RETRY_BACKOFF_BASE_MS: '200', RETRY_BACKOFF_MAX_MS: '400' });
  await h.db
    .insertInto('tenants')
    .values([
      { id: 'fs-a', name: 'a' },
      { id: 'fs-b', name: 'b' },
      { id: 'fs-c', name: 'c', weight: 3 },
      { id: 'fs-d', name: 'd' },
      { id: 'fs-z', name: 'z' },
    ])
    .execute();
});

afterAll(async () => {
  await h?.close();
});

const assignmentsOf = (w: FakeWorker, n: number) =>
  waitFor(() => (w.assignments.length >= n ? w.assignments.slice(0, n) : undefined), {
    timeoutMs: 15_000,
    message: `${n} assignments to ${w.id}`,
  });

async function fill(w: FakeWorker, type: string, tenant: string, n: number) {
  const fillers = Array.from({ length: n }, () => submission(type));
  for (const s of fillers) await submit(h, s, tenant);
  return assignmentsOf(w, n);
}

async function tenantOf(a: AssignmentItem): Promise<string> {
  return (await workload(h, a.workloadId))!.tenant;
}

describe('fair share between tenants', () => {
  it("gives a freed slot to a tenant's first workload, however long another's queue", async () => {
    await using worker = await startFakeWorker(h, { id: 'fw-fair1', types: ['fair1'] });
    const fillers = await fill(worker, 'fair1', 'fs-a', 4);
    for (let i = 0; i < 50; i++) await submit(h, submission('fair1'), 'fs-a');
    const first = submission('fair1');
    await submit(h, first, 'fs-b');
    await waitConsumerDrained(h, 'schedulerIngest');
    await worker.complete(fillers[0]!, 'succeeded');
    const [next] = (await assignmentsOf(worker, 5)).slice(4);
    expect(next!.workloadId).toBe(first.id);
  });

  it('shares capacity by weight (DRF) and leaves no slot idle', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'fw-fair2',
      types: ['fair2'],
      capacity: { slots: 8 },
    });
    const fillers = await fill(worker, 'fair2', 'fs-z', 8);
    for (let i = 0; i < 20; i++) {
      await submit(h, submission('fair2'), 'fs-c');
      await submit(h, submission('fair2'), 'fs-d');
    }
    await waitConsumerDrained(h, 'schedulerIngest');
    for (const f of fillers) await worker.complete(f, 'succeeded');
    const placed = (await assignmentsOf(worker, 16)).slice(8);
    const tenants = await Promise.all(placed.map(tenantOf));
    // Every freed slot is used, 6:2 as weights 3:1 give, however the completions fall into
    // cycles: one slot at a time or many, DRF from what each tenant runs gives the same split.
    const c = tenants.filter((t) => t === 'fs-c').length;
    const d = tenants.filter((t) => t === 'fs-d').length;
    expect([c, d]).toEqual([6, 2]);
  });
});

describe('concurrency keys', () => {
  it('runs at most concurrencyLimit of a key at once; the others wait saying why', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'fw-conc',
      types: ['conc'],
      capacity: { slots: 8 },
    });
    const keyed = Array.from({ length: 5 }, () =>
      submission('conc', { concurrencyKey: 'k', concurrencyLimit: 2 }),
    );
    for (const s of keyed) await submit(h, s);
    const unkeyed = submission('conc');
    await submit(h, unkeyed);
    const firstTwo = await assignmentsOf(worker, 2);
    await worker.waitForAssignment(unkeyed.id);
    const waiting = keyed.filter((s) => !firstTwo.some((a) => a.workloadId === s.id));
    for (const s of waiting)
      await waitForWorkload(
        h,
        s.id,
        (r) =>
          r.status === 'PENDING' && r.pending_reason === 'concurrency key "k" is at its limit 2',
        'the concurrency reason',
      );
    await worker.complete(firstTwo[0]!, 'succeeded');
    await waitFor(
      () => worker.assignments.filter((a) => keyed.some((s) => s.id === a.workloadId)).length === 3,
      { timeoutMs: 15_000, message: 'a third keyed assignment' },
    );
    await waitConsumerDrained(h, 'schedulerComplete');
    const active = await h.db
      .selectFrom('workloads')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('concurrency_key', '=', 'k')
      .where('status', 'in', ['SCHEDULED', 'RUNNING'])
      .executeTakeFirstOrThrow();
    expect(Number(active.n)).toBe(2);
  });

  it('runs an ordered key one at a time in submission order, across a retry', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'fw-ord',
      types: ['ord'],
      capacity: { slots: 8 },
    });
    const keyed = Array.from({ length: 3 }, () =>
      submission('ord', { concurrencyKey: 'o', ordered: true, maxAttempts: 3 }),
    );
    for (const s of keyed) await submit(h, s);
    const [one, two, three] = keyed as [(typeof keyed)[0], (typeof keyed)[0], (typeof keyed)[0]];
    const first = await worker.waitForAssignment(one.id, 1);
    await waitForWorkload(
      h,
      two.id,
      (r) => r.pending_reason === `ordered concurrency key "o": waits for ${one.id} to end`,
      'the ordered reason',
    );
    await worker.complete(first, 'failed', {
      error: { message: 'flaky', code: 'EIO', retryable: true },
    });
    const retry = await worker.waitForAssignment(one.id, 2);
    await worker.complete(retry, 'succeeded');
    const second = await worker.waitForAssignment(two.id, 1);
    await worker.complete(second, 'succeeded');
    await worker.waitForAssignment(three.id, 1);
    expect(worker.assignments.map((a) => [a.workloadId, a.attempt])).toEqual([
      [one.id, 1],
      [one.id, 2],
      [two.id, 1],
      [three.id, 1],
    ]);
  });
});
