import { sql } from 'kysely';
import { waitFor } from '@niyanta/testing';
import { startSystem } from './support/system.js';

describe('many workloads over several workers', () => {
  it('completes 500 workloads over three workers, each with exactly one completed attempt, never over a worker’s slots', async () => {
    await using sys = await startSystem({
      workers: [
        { id: 's-1', slots: 3 },
        { id: 's-2', slots: 3 },
        { id: 's-3', slots: 3 },
      ],
    });
    const workloads = Array.from({ length: 500 }, (_, i) => ({
      type: 'sleep',
      input: { durationMs: 10 + (i % 5) * 5, steps: 1 },
    }));
    const res = await sys.api<{ items: { id: string }[] }>('POST', '/v1/workloads/batch', {
      workloads,
    });
    expect([201, 202]).toContain(res.status);
    const ids = res.body.items.map((w) => w.id);
    expect(new Set(ids).size).toBe(500);

    // Sample what the scheduler has in flight per worker while the batch runs.
    let maxInFlight = 0;
    const remaining = async () => {
      const rows = await sys.db
        .selectFrom('workloads')
        .select(['worker_id', sql<number>`count(*)::int`.as('n')])
        .where('status', 'in', ['SCHEDULED', 'RUNNING'])
        .groupBy('worker_id')
        .execute();
      for (const r of rows) maxInFlight = Math.max(maxInFlight, r.n);
      const done = await sys.db
        .selectFrom('workloads')
        .select(sql<number>`count(*)::int`.as('n'))
        .where('status', '=', 'COMPLETED')
        .executeTakeFirstOrThrow();
      return done.n === 500;
    };
    await waitFor(remaining, {
      timeoutMs: 120_000,
      intervalMs: 20,
      message: '500 workloads to complete',
    });
    expect(maxInFlight).toBeGreaterThan(0);
    expect(maxInFlight).toBeLessThanOrEqual(3);

    const completions = await sys.db
      .selectFrom('workload_events')
      .select(['workload_id', sql<number>`count(*)::int`.as('n')])
      .where('to_status', '=', 'COMPLETED')
      .groupBy('workload_id')
      .execute();
    expect(completions).toHaveLength(500);
    expect(completions.every((c) => c.n === 1)).toBe(true);
    const perWorker = await sys.db
      .selectFrom('workloads')
      .select(['worker_id', sql<number>`count(*)::int`.as('n')])
      .groupBy('worker_id')
      .execute();
    expect(perWorker.map((w) => w.worker_id).sort()).toEqual(['s-1', 's-2', 's-3']);
  });
});

describe("a worker's SIGTERM", () => {
  it('stops taking work, hands back what it runs and exits; the work completes elsewhere', async () => {
    await using sys = await startSystem({ workers: [{ id: 'd-1', slots: 2 }] });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      ids.push((await sys.submit({ type: 'sleep', input: { durationMs: 20_000, steps: 20 } })).id);
    }
    for (const id of ids) await sys.waitForStatus(id, 'RUNNING');
    const d1 = sys.services.get('d-1')!;
    await sys.startWorker({ id: 'd-2', slots: 2 });
    const exit = await d1.stop(20_000);
    expect(exit.code).toBe(0);
    // Handed back, not failed: each goes back to PENDING and runs again on d-2.
    for (const id of ids) {
      const w = await sys.waitForStatus(id, 'RUNNING', 20_000);
      expect(w.workerId).toBe('d-2');
      expect(w.attempt).toBe(2);
    }
    const later = await sys.submit({ type: 'noop', input: {} });
    expect((await sys.waitForStatus(later.id, 'COMPLETED')).workerId).toBe('d-2');
  });
});
