import type { WorkloadV1 } from '@niyanta/messages';
import { eventsOf, startSystem } from './support/system.js';
import type { System } from './support/system.js';
import { readSse } from './support/sse.js';

// One system for the whole file: two ordinary workers and one with a single big slot ('solo',
// the only one with memory enough for the priority and cancel tests' workloads, until the last
// test starts an even bigger one: keep that test last).
let sys: System;

beforeAll(async () => {
  sys = await startSystem({
    workers: [
      { id: 'e2e-a', slots: 4, memoryMb: 4096 },
      { id: 'e2e-b', slots: 4, memoryMb: 4096 },
      { id: 'e2e-solo', slots: 1, memoryMb: 100_000 },
    ],
  });
}, 120_000);

afterAll(async () => {
  // Every service ran as its own broker user (infra/nats): none needed a subject it may not use.
  const violations = sys?.nats.output().match(/^.*(Publish|Subscription) Violation.*$/gm) ?? [];
  await sys?.[Symbol.asyncDispose]();
  expect(violations).toEqual([]);
});

const statusesOf = async (id: string) => (await eventsOf(sys.db, id)).map((e) => e.to_status);

describe('the run path, every service as its own process', () => {
  it('runs a sleep PENDING → SCHEDULED → RUNNING → COMPLETED and streams it over SSE with progress', async () => {
    const w = await sys.submit({ type: 'sleep', input: { durationMs: 1500, steps: 5 } });
    expect(w.status).toBe('PENDING');
    const events = await readSse(`${sys.apiUrl}/v1/workloads/${w.id}/events`, (evs) =>
      evs.some(
        (e) =>
          e.event === 'status' &&
          (e.data as { workload: WorkloadV1 }).workload.status === 'COMPLETED',
      ),
    );
    const statuses = events
      .filter((e) => e.event === 'status')
      .map((e) => (e.data as { workload: WorkloadV1 }).workload.status);
    expect(statuses[statuses.length - 1]).toBe('COMPLETED');
    expect(statuses).toContain('RUNNING');
    const fractions = events
      .filter((e) => e.event === 'progress')
      .map((e) => (e.data as { fraction: number }).fraction);
    expect(fractions.length).toBeGreaterThanOrEqual(2);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));

    const done = await sys.waitForStatus(w.id, 'COMPLETED');
    expect(done.result).toMatchObject({ steps: 5 });
    expect(done.attempt).toBe(1);
    expect(done.finishedAt).not.toBeNull();
    expect(await statusesOf(w.id)).toEqual(['PENDING', 'SCHEDULED', 'RUNNING', 'COMPLETED']);
  });

  it('retries a failing exec with growing delays, then fails it with the exit code and keeps its log line', async () => {
    const w = await sys.submit({
      type: 'exec',
      input: { command: 'sh', args: ['-c', 'echo hi; exit 3'] },
      maxAttempts: 3,
    });
    const failed = await sys.waitForStatus(w.id, 'FAILED');
    expect(failed.attempt).toBe(3);
    expect(failed.error).toMatchObject({ retryable: true });
    expect(failed.error?.message).toMatch(/3/);
    expect(failed.error?.code).toBe('EXIT_CODE_3');

    const events = await eventsOf(sys.db, w.id);
    const scheduled = events.filter((e) => e.to_status === 'SCHEDULED');
    const retried = events.filter((e) => e.from_status !== null && e.to_status === 'PENDING');
    expect(scheduled).toHaveLength(3);
    expect(retried).toHaveLength(2);
    // Each retry waits for its backoff: the gap from a failure to the next placement grows.
    const gaps = retried.map((r, i) => scheduled[i + 1]!.at.getTime() - r.at.getTime());
    expect(gaps[0]).toBeGreaterThanOrEqual(90); // base 200 ms, equal jitter: at least half of it
    expect(gaps[1]).toBeGreaterThan(gaps[0]! * 0.9);

    const logs = await sys.api<{ items: { line: string; stream: string }[] }>(
      'GET',
      `/v1/workloads/${w.id}/logs`,
    );
    expect(logs.status).toBe(200);
    expect(logs.body.items.map((l) => l.line)).toContain('hi');
  });

  it('runs higher priority first when slots are scarce', async () => {
    const needsSolo = { memoryMb: 50_000 };
    const blocker = await sys.submit({
      type: 'sleep',
      input: { durationMs: 1500, steps: 3 },
      requirements: needsSolo,
    });
    await sys.waitForStatus(blocker.id, 'RUNNING');
    const low = await sys.submit({
      type: 'noop',
      input: {},
      priority: 10,
      requirements: needsSolo,
    });
    const high = await sys.submit({
      type: 'noop',
      input: {},
      priority: 900,
      requirements: needsSolo,
    });
    const lowDone = await sys.waitForStatus(low.id, 'COMPLETED');
    await sys.waitForStatus(high.id, 'COMPLETED');
    expect(lowDone.workerId).toBe('e2e-solo');
    const placedAt = async (id: string) =>
      (await eventsOf(sys.db, id)).find((e) => e.to_status === 'SCHEDULED')!.at.getTime();
    expect(await placedAt(high.id)).toBeLessThan(await placedAt(low.id));
    expect(lowDone.startedAt).not.toBeNull();
  });

  it('cancels a running sleep: it ends CANCELLED and frees its slot', async () => {
    const needsSolo = { memoryMb: 50_000 };
    const long = await sys.submit({
      type: 'sleep',
      input: { durationMs: 60_000, steps: 60 },
      requirements: needsSolo,
    });
    await sys.waitForStatus(long.id, 'RUNNING');
    const res = await sys.api<WorkloadV1>('POST', `/v1/workloads/${long.id}/cancel`);
    expect(res.status).toBe(202);
    const cancelled = await sys.waitForStatus(long.id, 'CANCELLED', 15_000);
    expect(cancelled.finishedAt).not.toBeNull();
    // The single slot of 'solo' is free again: the next workload that needs it runs.
    const next = await sys.submit({
      type: 'noop',
      input: { after: 'cancel' },
      requirements: needsSolo,
    });
    await sys.waitForStatus(next.id, 'COMPLETED');
    const again = await sys.api('POST', `/v1/workloads/${long.id}/cancel`);
    expect(again.status).toBe(409);
  });

  it('aborts a run over its timeout and retries it', async () => {
    const w = await sys.submit({
      type: 'sleep',
      input: { durationMs: 30_000, steps: 30 },
      timeoutSeconds: 1,
      maxAttempts: 2,
    });
    const failed = await sys.waitForStatus(w.id, 'FAILED', 30_000);
    expect(failed.attempt).toBe(2);
    expect(failed.error?.code).toBe('TIMEOUT');
    expect(await statusesOf(w.id)).toEqual([
      'PENDING',
      'SCHEDULED',
      'RUNNING',
      'PENDING',
      'SCHEDULED',
      'RUNNING',
      'FAILED',
    ]);
  });
  it('keeps a workload that fits no worker PENDING with the reason, and runs it once a big enough worker starts', async () => {
    const w = await sys.submit({
      type: 'noop',
      input: { big: true },
      requirements: { memoryMb: 200_000 },
    });
    const waiting = await sys.waitForStatus(w.id, 'PENDING');
    await expect(
      (async () => {
        for (;;) {
          const { body } = await sys.api<WorkloadV1>('GET', `/v1/workloads/${w.id}`);
          if (body.pendingReason) return body.pendingReason;
          await new Promise((r) => setTimeout(r, 50));
        }
      })(),
    ).resolves.toMatch(/memoryMb/);
    expect(waiting.status).toBe('PENDING');
    await sys.startWorker({ id: 'e2e-big', slots: 1, memoryMb: 300_000 });
    const done = await sys.waitForStatus(w.id, 'COMPLETED');
    expect(done.workerId).toBe('e2e-big');
    expect(done.result).toEqual({ big: true });
  });
});
