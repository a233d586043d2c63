import { gunzipSync } from 'node:zlib';
import type { WorkloadV1 } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { eventsOf, startSystem } from './support/system.js';
import type { System } from './support/system.js';

// Each test starts its own system (it kills or stops workers). FAST settings of system.ts:
// heartbeats every 300 ms, a worker silent for 1500 ms is dead.
jest.setTimeout(60_000);

const HEARTBEAT_TIMEOUT_MS = 1_500;
const STEPS = 20;
const STEP_MS = 300;
// Retention would delete the old attempt's rows during the test; these tests look at them.
const ENV = { CHECKPOINT_KEEP: '1000' };
const WORKERS = [{ id: 'fp-a' }, { id: 'fp-b' }];

interface SleepResult {
  sleptMs: number;
  steps: number;
  resumedFromStep: number;
}

async function withSystem(test: (sys: System) => Promise<void>): Promise<void> {
  const sys = await startSystem({ workers: WORKERS, env: ENV });
  try {
    await test(sys);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${sys.output()}`, { cause: err });
  } finally {
    await sys[Symbol.asyncDispose]();
  }
}

/** Committed checkpoints of a workload: attempt, seq, the sleep step they hold and when. */
async function checkpointsOf(sys: System, workloadId: string) {
  const rows = await sys.db
    .selectFrom('checkpoints')
    .select(['attempt', 'seq', 'storage', 'data', 'created_at'])
    .where('workload_id', '=', workloadId)
    .orderBy('attempt')
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({
    attempt: r.attempt,
    seq: r.seq,
    createdAt: new Date(r.created_at),
    step:
      r.storage === 'inline' && r.data !== null
        ? (JSON.parse(gunzipSync(r.data).toString('utf8')) as { step: number }).step
        : undefined,
  }));
}

const latestStep = async (sys: System, id: string) =>
  Math.max(0, ...(await checkpointsOf(sys, id)).map((c) => c.step ?? 0));

async function getWorkload(sys: System, id: string): Promise<WorkloadV1> {
  return (await sys.api<WorkloadV1>('GET', `/v1/workloads/${id}`)).body;
}

/** Waits until the workload runs with at least `fraction` progress and `step` checkpointed. */
async function waitForRunningPast(
  sys: System,
  id: string,
  fraction: number,
  step: number,
): Promise<WorkloadV1> {
  return waitFor(
    async () => {
      const w = await getWorkload(sys, id);
      if (w.status !== 'RUNNING' || (w.progress?.fraction ?? 0) < fraction) return undefined;
      return (await latestStep(sys, id)) >= step ? w : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 50, message: `workload ${id} to run past ${fraction}` },
  );
}

const sleepInput = { durationMs: STEPS * STEP_MS, steps: STEPS };

describe('the failure path, every service as its own process', () => {
  it('resumes a run from its last checkpoint on the other worker after SIGKILL, and records it once', () =>
    withSystem(async (sys) => {
      const w = await sys.submit({ type: 'sleep', input: sleepInput });
      const running = await waitForRunningPast(sys, w.id, 0.4, 6);
      const victim = running.workerId!;
      const heir = WORKERS.map((x) => x.id).find((id) => id !== victim)!;
      const checkpointedStep = await latestStep(sys, w.id);

      const killedAt = Date.now();
      await sys.services.get(victim)!.kill('SIGKILL');

      // Declared DEAD within the heartbeat timeout (plus a sweep interval and some slack).
      const deadAfterMs = await waitFor(
        async () => {
          const row = await sys.db
            .selectFrom('workers')
            .select(['status'])
            .where('id', '=', victim)
            .executeTakeFirst();
          return row?.status === 'DEAD' ? Date.now() - killedAt : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 50, message: `${victim} to be declared dead` },
      );
      expect(deadAfterMs).toBeLessThan(HEARTBEAT_TIMEOUT_MS + 1_500);

      // Progress never falls back below what was checkpointed before the kill.
      const fractions: number[] = [];
      const done = await waitFor(
        async () => {
          const now = await getWorkload(sys, w.id);
          if (now.progress) fractions.push(now.progress.fraction);
          return now.status === 'COMPLETED' ? now : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 50, message: `workload ${w.id} to complete` },
      );
      expect(Math.min(...fractions)).toBeGreaterThanOrEqual(checkpointedStep / STEPS);
      const result = done.result as SleepResult;
      expect(result.resumedFromStep).toBeGreaterThanOrEqual(checkpointedStep);
      expect(result.resumedFromStep).toBeGreaterThan(0);
      expect(result.steps).toBe(STEPS);
      expect(done).toMatchObject({ attempt: 2, workerId: heir });

      const events = await eventsOf(sys.db, w.id);
      expect(events.map((e) => [e.to_status, e.attempt, e.worker_id])).toEqual([
        ['PENDING', 0, null],
        ['SCHEDULED', 1, victim],
        ['RUNNING', 1, victim],
        ['PENDING', 1, victim],
        ['SCHEDULED', 2, heir],
        ['RUNNING', 2, heir],
        ['COMPLETED', 2, heir],
      ]);
      expect(events[3]!.reason).toMatch(
        new RegExp(`^worker ${victim} declared dead: no heartbeat for \\d+ ms$`),
      );
      expect(events.filter((e) => e.to_status === 'COMPLETED')).toHaveLength(1);
      // The new attempt's checkpoints continue the old one's steps.
      const second = (await checkpointsOf(sys, w.id)).filter((c) => c.attempt === 2);
      expect(second[0]?.step).toBe(result.resumedFromStep + 1);
    }));

  it('records nothing a zombie worker (SIGSTOP past the timeout, then SIGCONT) sends for its old attempt, and stops its run', () =>
    withSystem(async (sys) => {
      const w = await sys.submit({ type: 'sleep', input: sleepInput });
      const running = await waitForRunningPast(sys, w.id, 0.15, 3);
      const zombie = running.workerId!;
      const heir = WORKERS.map((x) => x.id).find((id) => id !== zombie)!;
      const zombieProc = sys.services.get(zombie)!;

      zombieProc.signal('SIGSTOP');
      try {
        await waitFor(
          async () => {
            const now = await getWorkload(sys, w.id);
            return now.status === 'RUNNING' && now.attempt === 2 ? now : undefined;
          },
          { timeoutMs: 15_000, intervalMs: 50, message: `attempt 2 to run on ${heir}` },
        );
      } finally {
        zombieProc.signal('SIGCONT');
      }
      const replacedAt = (await eventsOf(sys.db, w.id)).find(
        (e) => e.to_status === 'SCHEDULED' && e.attempt === 2,
      )!.at;

      // Reconciliation tells the zombie to stop its old run, and the run ends.
      const control = JSON.parse(
        await zombieProc.waitForLine(
          new RegExp(`"workloadId":"${w.id}".*"control applied"`),
          15_000,
        ),
      ) as { action: string; attempt: number; found: string; reason: string };
      expect(control).toMatchObject({ action: 'stop', attempt: 1, found: 'running' });
      expect(control.reason).toMatch(/attempt 1 is stale: the workload is on attempt 2/);
      // Its cancelled completion for attempt 1 reaches the scheduler, which discards it.
      await sys.services
        .get('scheduler')!
        .waitForLine(
          new RegExp(
            `"workloadId":"${w.id}","attempt":1,"currentAttempt":2.*completion cancelled discarded`,
          ),
          15_000,
        );

      const done = await sys.waitForStatus(w.id, 'COMPLETED', 30_000);
      expect(done).toMatchObject({ attempt: 2, workerId: heir });
      const events = await eventsOf(sys.db, w.id);
      expect(events.filter((e) => e.to_status === 'COMPLETED')).toHaveLength(1);
      // Nothing of attempt 1 recorded after the re-placement: no event, no checkpoint.
      expect(events.filter((e) => e.attempt === 1 && e.at > replacedAt)).toEqual([]);
      const late = (await checkpointsOf(sys, w.id)).filter(
        (c) => c.attempt === 1 && c.createdAt > replacedAt,
      );
      expect(late).toEqual([]);
      expect((await checkpointsOf(sys, w.id)).some((c) => c.attempt === 2)).toBe(true);
    }));

  it('pauses a run (slot freed), then resumes it on the other worker from its checkpoint', () =>
    withSystem(async (sys) => {
      const w = await sys.submit({ type: 'sleep', input: sleepInput });
      const running = await waitForRunningPast(sys, w.id, 0.2, 4);
      const first = running.workerId!;
      const second = WORKERS.map((x) => x.id).find((id) => id !== first)!;

      expect((await sys.api('POST', `/v1/workloads/${w.id}/pause`)).status).toBe(202);
      const paused = await sys.waitForStatus(w.id, 'PAUSED', 15_000);
      expect(paused.workerId).toBeNull();
      // The slot is free: the worker no longer reports the run.
      await waitFor(
        async () => {
          const row = await sys.db
            .selectFrom('workers')
            .select(['running'])
            .where('id', '=', first)
            .executeTakeFirst();
          return row !== undefined && !row.running.some((r) => r.workloadId === w.id);
        },
        { timeoutMs: 5_000, message: `${first} to stop reporting the run` },
      );
      const pausedStep = await latestStep(sys, w.id);
      expect(pausedStep).toBeGreaterThanOrEqual(4);

      // The first worker goes away (gracefully), so the resumed run can only go to the other.
      await sys.services.get(first)!.stop();
      expect((await sys.api('POST', `/v1/workloads/${w.id}/resume`)).status).toBe(202);
      const done = await sys.waitForStatus(w.id, 'COMPLETED', 30_000);
      const result = done.result as SleepResult;
      expect(done).toMatchObject({ attempt: 2, workerId: second });
      expect(result.resumedFromStep).toBeGreaterThanOrEqual(pausedStep);
      expect(result.resumedFromStep).toBeLessThan(STEPS);

      const events = await eventsOf(sys.db, w.id);
      expect(events.map((e) => [e.to_status, e.attempt])).toEqual([
        ['PENDING', 0],
        ['SCHEDULED', 1],
        ['RUNNING', 1],
        ['PAUSED', 1],
        ['PENDING', 1],
        ['SCHEDULED', 2],
        ['RUNNING', 2],
        ['COMPLETED', 2],
      ]);
      expect(events[3]).toMatchObject({ reason: 'paused', worker_id: first });
      expect(events[5]).toMatchObject({ worker_id: second });
    }));
});
