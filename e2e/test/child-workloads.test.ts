import { join } from 'node:path';
import { childWorkloadId } from '@niyanta/messages';
import type { WorkloadV1 } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { sql } from 'kysely';
import { eventsOf, startSystem } from './support/system.js';
import type { System, WorkerSpec } from './support/system.js';

// Child workloads with every service its own process: a parent fans out, loses its worker while
// it spawns, resumes elsewhere, and gathers every child's result without spawning one twice.
jest.setTimeout(180_000);

const MODULES = join(__dirname, 'fixtures', 'workloads', 'fanout');
const worker = (id: string): WorkerSpec => ({ id, slots: 4, env: { WORKLOAD_MODULES: MODULES } });
const N = 100;

async function withSystem(workers: WorkerSpec[], test: (sys: System) => Promise<void>) {
  const sys = await startSystem({ workers });
  try {
    await test(sys);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${sys.output()}`, { cause: err });
  } finally {
    await sys[Symbol.asyncDispose]();
  }
}

const childCount = async (sys: System, parentId: string): Promise<number> => {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from workloads where parent_id = ${parentId}`.execute(sys.db);
  return rows[0]!.n;
};

describe('child workloads', () => {
  it('a parent of 100 children whose worker is SIGKILLed mid-way resumes elsewhere and gathers all 100, none spawned twice', async () => {
    await withSystem([worker('fan-a'), worker('fan-b')], async (sys) => {
      const parent = await sys.submit({
        type: 'fanout',
        input: { n: N, chunk: 10, pauseMs: 400, childMs: 50 },
        maxAttempts: 5,
      });
      const running = await sys.waitForStatus(parent.id, 'RUNNING', 30_000);
      const victim = running.workerId!;
      // Mid-way: some children spawned (and some of them running or done), not all.
      await waitFor(async () => (await childCount(sys, parent.id)) >= 30, {
        timeoutMs: 30_000,
        message: 'the parent to spawn 30 children',
      });
      expect(await childCount(sys, parent.id)).toBeLessThan(N);
      await sys.services.get(victim)!.kill('SIGKILL');
      await sys.startWorker(worker(`${victim}-heir`));

      const done = await sys.waitForStatus(
        parent.id,
        ['COMPLETED', 'FAILED', 'CANCELLED'],
        120_000,
      );
      expect(done.status).toBe('COMPLETED');
      const result = done.result as { count: number; squares: number[]; attempt: number };
      expect(result.count).toBe(N);
      expect(result.squares).toEqual(Array.from({ length: N }, (_, i) => i * i));
      // Attempt 1 died with its worker; the gather's wait woke a later one.
      expect(result.attempt).toBeGreaterThanOrEqual(3);
      expect(done.workerId).not.toBe(victim);

      // No child spawned twice: 100 rows, each the derived id of its call, each submitted once.
      const rows = await sys.db
        .selectFrom('workloads')
        .select(['id', 'child_index', 'status', 'result'])
        .where('parent_id', '=', parent.id)
        .orderBy('child_index')
        .execute();
      expect(rows).toHaveLength(N);
      rows.forEach((r, i) => {
        expect(r).toMatchObject({
          id: childWorkloadId(parent.id, i),
          child_index: i,
          status: 'COMPLETED',
          result: i * i,
        });
      });
      const { rows: submitted } = await sql<{ n: number }>`
        select count(*)::int as n from workload_events
        where workload_id = any(${rows.map((r) => r.id)}::uuid[]) and reason = 'submitted'`.execute(
        sys.db,
      );
      expect(submitted[0]!.n).toBe(N);

      const steps = (await eventsOf(sys.db, parent.id)).map(
        (e) => `${e.from_status ?? ''}>${e.to_status}`,
      );
      expect(steps).toContain('WAITING>PENDING');
      const shown = (await sys.api<WorkloadV1>('GET', `/v1/workloads/${parent.id}`)).body;
      expect(shown.children).toMatchObject({ total: N, counts: { COMPLETED: N } });
      const child = (await sys.api<WorkloadV1>('GET', `/v1/workloads/${rows[7]!.id}`)).body;
      expect(child).toMatchObject({ parentId: parent.id, detached: false, result: 49 });
    });
  });

  it('a gather with a timeout gives up when its children are still running', async () => {
    await withSystem([worker('fan-t')], async (sys) => {
      const parent = await sys.submit({
        type: 'fanout',
        input: { n: 2, chunk: 2, childMs: 60_000, gatherTimeoutMs: 1000 },
      });
      const done = await sys.waitForStatus(parent.id, ['COMPLETED', 'FAILED'], 30_000);
      expect(done).toMatchObject({ status: 'COMPLETED', result: { timedOut: true, attempt: 2 } });
      // The children run on.
      const { rows } = await sql<{ status: string }>`
        select status from workloads where parent_id = ${parent.id}`.execute(sys.db);
      expect(rows).toHaveLength(2);
      for (const r of rows) expect(['PENDING', 'SCHEDULED', 'RUNNING']).toContain(r.status);
    });
  });

  it('cancelling a gathering parent cancels its children with it', async () => {
    await withSystem([worker('fan-c')], async (sys) => {
      const parent = await sys.submit({
        type: 'fanout',
        input: { n: 20, chunk: 20, childMs: 60_000 },
      });
      await sys.waitForStatus(parent.id, 'WAITING', 30_000);
      expect(
        (await sys.api<WorkloadV1>('GET', `/v1/workloads/${parent.id}`)).body.waitingFor,
      ).toEqual({ kind: 'children' });
      const cancelled = await sys.api('POST', `/v1/workloads/${parent.id}/cancel`, {});
      expect(cancelled.status).toBe(202);
      await sys.waitForStatus(parent.id, 'CANCELLED', 30_000);
      await waitFor(
        async () => {
          const { rows } = await sql<{ n: number }>`
            select count(*)::int as n from workloads
            where parent_id = ${parent.id} and status = 'CANCELLED'`.execute(sys.db);
          return rows[0]!.n === 20;
        },
        { timeoutMs: 30_000, message: 'all 20 children CANCELLED' },
      );
    });
  });
});
