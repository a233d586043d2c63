import type { ScheduleV1, WorkloadV1 } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { startSystem } from './support/system.js';
import type { System } from './support/system.js';

// Schedules fire every 2 s here: SCHEDULE_TEST_SECONDS (test-only) lets the cron expression
// have a leading seconds field, so "once per fire time" is watched in seconds, not minutes.
jest.setTimeout(120_000);

const ENV = { SCHEDULE_TEST_SECONDS: 'true', SCHEDULE_TICK_MS: '200' };
const EVERY_2S = '*/2 * * * * *';
// No worker handles it: a firing's workload stays PENDING, so overlaps are visible.
const WORKLOAD = { type: 'nightly-report', input: { day: 'yesterday' } };

async function withSystem(test: (sys: System) => Promise<void>): Promise<void> {
  const sys = await startSystem({ workers: [], env: ENV });
  try {
    await test(sys);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${sys.output()}`, { cause: err });
  } finally {
    await sys[Symbol.asyncDispose]();
  }
}

async function createSchedule(sys: System, body: Record<string, unknown>): Promise<ScheduleV1> {
  const res = await sys.api<ScheduleV1>('POST', '/v1/schedules', body);
  if (res.status !== 201)
    throw new Error(`create schedule: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The fired workloads of a schedule, oldest first, as PostgreSQL has them. */
async function firings(sys: System, scheduleId: string) {
  return sys.db
    .selectFrom('workloads')
    .select(['id', 'status', 'idempotency_key', 'submitted_by'])
    .where('schedule_id', '=', scheduleId)
    .orderBy('idempotency_key')
    .execute();
}

/** The fire time in a firing's key `schedule:<36-character id>:<ISO time>`. */
const fireTimeOf = (key: string | null) => Date.parse(key!.slice('schedule:'.length + 37));

describe('schedules', () => {
  it('fire exactly once per fire time across a SIGKILL and restart of the scheduler', async () => {
    await withSystem(async (sys) => {
      const s = await createSchedule(sys, {
        name: 'every two seconds',
        cron: EVERY_2S,
        workload: WORKLOAD,
        overlap: 'allow',
      });
      await waitFor(async () => (await firings(sys, s.id)).length >= 3, {
        timeoutMs: 20_000,
        message: 'three firings',
      });
      const scheduler = sys.services.get('scheduler')!;
      await scheduler.kill('SIGKILL');
      const killedAt = Date.now();
      // Down across at least two fire times: they are late by seconds, not missed.
      await waitFor(() => Date.now() - killedAt > 4_500, { timeoutMs: 10_000, intervalMs: 100 });
      await sys.restartService('scheduler');
      const atRestart = (await firings(sys, s.id)).length;
      await waitFor(async () => (await firings(sys, s.id)).length >= atRestart + 5, {
        timeoutMs: 30_000,
        message: 'five more firings after the restart',
      });
      const paused = await sys.api<ScheduleV1>('PATCH', `/v1/schedules/${s.id}`, { paused: true });
      expect(paused.status).toBe(200);
      // In flight when it paused: a firing already sent is ingested; then nothing more comes.
      let count = 0;
      await waitFor(
        async () => {
          const n = (await firings(sys, s.id)).length;
          const settled = n === count;
          count = n;
          return settled;
        },
        { timeoutMs: 10_000, intervalMs: 1_000, message: 'firings to stop after the pause' },
      );

      const rows = await firings(sys, s.id);
      const times = rows.map((r) => fireTimeOf(r.idempotency_key));
      // One workload per fire time, every 2 s with no gap: the ones due while the scheduler
      // was down fired late, once.
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(2_000);
      expect(new Set(times).size).toBe(rows.length);
      for (const r of rows) expect(r.submitted_by).toBe(`schedule-${s.id}`);
      const listed = await sys.api<{ items: WorkloadV1[] }>(
        'GET',
        `/v1/workloads?scheduleId=${s.id}&limit=500`,
      );
      expect(listed.body.items).toHaveLength(rows.length);
      expect(listed.body.items.every((w) => w.scheduleId === s.id)).toBe(true);
      const got = await sys.api<ScheduleV1>('GET', `/v1/schedules/${s.id}`);
      expect(got.body.lastFireAt).toBe(new Date(times.at(-1)!).toISOString());
    });
  });

  it('skip while the previous firing runs, or cancel it with cancelPrevious', async () => {
    await withSystem(async (sys) => {
      const skip = await createSchedule(sys, {
        name: 'skip',
        cron: EVERY_2S,
        workload: WORKLOAD,
        overlap: 'skip',
      });
      const cancel = await createSchedule(sys, {
        name: 'cancel previous',
        cron: EVERY_2S,
        workload: WORKLOAD,
        overlap: 'cancelPrevious',
      });
      await waitFor(
        async () => {
          const rows = await firings(sys, cancel.id);
          return rows.filter((r) => r.status === 'CANCELLED').length >= 3;
        },
        { timeoutMs: 30_000, message: 'three firings of cancelPrevious cancelled by the next' },
      );
      const skipped = await firings(sys, skip.id);
      // The first firing never ends (no worker takes it): every later one is skipped.
      expect(skipped).toHaveLength(1);
      expect(skipped[0]!.status).toBe('PENDING');
      // Once it stops firing, every firing but the newest was cancelled by the one after it
      // (a cancel may be applied before the next firing is ingested, so this is awaited).
      expect((await sys.api('PATCH', `/v1/schedules/${cancel.id}`, { paused: true })).status).toBe(
        200,
      );
      const settled = await waitFor(
        async () => {
          const rows = await firings(sys, cancel.id);
          const open = rows.filter((r) => r.status !== 'CANCELLED');
          return open.length === 1 && rows.at(-1)!.status !== 'CANCELLED' ? rows : undefined;
        },
        { timeoutMs: 15_000, message: 'every firing of cancelPrevious but the newest cancelled' },
      );
      expect(settled.length).toBeGreaterThanOrEqual(4);
    });
  });
});
