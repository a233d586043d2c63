import { join } from 'node:path';
import type { WorkloadV1 } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { eventsOf, startSystem } from './support/system.js';
import type { System, WorkerSpec } from './support/system.js';

// Durable waits with every service its own process: a WAITING run holds no slot, survives the
// death of the worker it waited on, and resumes from its checkpoint on another worker.
jest.setTimeout(120_000);

const MODULES = join(__dirname, 'fixtures', 'workloads', 'waits');
const worker = (id: string): WorkerSpec => ({ id, slots: 1, env: { WORKLOAD_MODULES: MODULES } });

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

const getWorkload = async (sys: System, id: string) =>
  (await sys.api<WorkloadV1>('GET', `/v1/workloads/${id}`)).body;

describe('durable waits', () => {
  it('approval: waits for `approve` holding no slot, outlives its worker, completes with the payload elsewhere', async () => {
    await withSystem([worker('wait-a')], async (sys) => {
      const approval = await sys.submit({ type: 'approval', input: {}, maxAttempts: 1 });
      const waiting = await sys.waitForStatus(approval.id, 'WAITING', 30_000);
      expect(waiting.workerId).toBeNull();
      expect((await getWorkload(sys, approval.id)).waitingFor).toEqual({
        kind: 'signal',
        signal: 'approve',
      });

      // The only worker has one slot: other work runs on it while the approval waits.
      const other = await sys.submit({ type: 'sleep', input: { durationMs: 100, steps: 1 } });
      expect(await sys.waitForStatus(other.id, 'COMPLETED', 30_000)).toMatchObject({
        workerId: 'wait-a',
      });
      expect((await getWorkload(sys, approval.id)).status).toBe('WAITING');

      // Its worker dies during the wait; another comes.
      await sys.services.get('wait-a')!.kill('SIGKILL');
      await sys.startWorker(worker('wait-b'));
      await waitFor(
        async () => {
          const rows = await sys.db.selectFrom('workers').select(['id', 'status']).execute();
          return rows.find((r) => r.id === 'wait-a')?.status === 'DEAD';
        },
        { timeoutMs: 20_000, message: 'wait-a declared dead' },
      );
      expect((await getWorkload(sys, approval.id)).status).toBe('WAITING');

      const sent = await sys.api('POST', `/v1/workloads/${approval.id}/signals/approve`, {
        payload: { by: 'ann', ticket: 42 },
      });
      expect(sent.status).toBe(202);
      const done = await sys.waitForStatus(approval.id, ['COMPLETED', 'FAILED'], 30_000);
      expect(done).toMatchObject({
        status: 'COMPLETED',
        workerId: 'wait-b',
        attempt: 2,
        result: { approved: { by: 'ann', ticket: 42 }, resumedFrom: { asked: true }, attempt: 2 },
      });
      const steps = (await eventsOf(sys.db, approval.id)).map(
        (e) => `${e.from_status ?? ''}>${e.to_status}`,
      );
      // A run that waits within 50 ms reports no `started`: SCHEDULED goes straight to WAITING.
      expect(steps.filter((s) => s.endsWith('>WAITING'))).toHaveLength(1);
      expect(steps).toContain('WAITING>PENDING');
    });
  });

  it('ctx.sleep(5000) resumes after about 5 s across a scheduler SIGKILL; a signal sent before the wait starts is kept', async () => {
    await withSystem([worker('nap-a'), worker('nap-b')], async (sys) => {
      const t0 = Date.now();
      const nap = await sys.submit({ type: 'nap', input: { ms: 5000 } });
      const asleep = await sys.waitForStatus(nap.id, 'WAITING', 30_000);
      const shown = await getWorkload(sys, nap.id);
      expect(shown.waitingFor).toMatchObject({ kind: 'sleep' });
      expect(Date.parse(shown.waitingFor!.until!)).toBeGreaterThanOrEqual(t0 + 4_000);
      expect(asleep.workerId).toBeNull();
      // The sleep is a row, not a timer in memory: the scheduler may die during it.
      await sys.restartService('scheduler');

      // Meanwhile: both slots busy, an approval waits in the queue and its signal comes first.
      const busy = await Promise.all(
        [1, 2].map(() => sys.submit({ type: 'sleep', input: { durationMs: 2000, steps: 2 } })),
      );
      for (const b of busy) await sys.waitForStatus(b.id, 'RUNNING', 30_000);
      const early = await sys.submit({ type: 'approval', input: {} });
      const sent = await sys.api<WorkloadV1>('POST', `/v1/workloads/${early.id}/signals/approve`, {
        payload: 'early',
      });
      expect(sent.status).toBe(202);
      expect(sent.body.status).toBe('PENDING');
      expect(await sys.waitForStatus(early.id, ['COMPLETED', 'FAILED'], 30_000)).toMatchObject({
        status: 'COMPLETED',
        result: { approved: 'early' },
      });

      const done = await sys.waitForStatus(nap.id, ['COMPLETED', 'FAILED'], 30_000);
      const elapsed = Date.now() - t0;
      const result = done.result as { sleptMs: number; attempt: number };
      expect(done.status).toBe('COMPLETED');
      expect(result.attempt).toBe(2);
      expect(result.sleptMs).toBeGreaterThanOrEqual(5_000);
      expect(result.sleptMs).toBeLessThan(20_000);
      expect(elapsed).toBeGreaterThanOrEqual(5_000);
    });
  });
});
