import { waitFor } from '@niyanta/testing';
import { eventsOf, startSystem } from './support/system.js';
import type { System } from './support/system.js';

// The single-process layout (services/all): api, scheduler, health-monitor and checkpoint in
// one process, each as its own broker user, the worker a process of its own.
let sys: System;

beforeAll(async () => {
  sys = await startSystem({ layout: 'single', workers: [{ id: 'single-a', slots: 8 }] });
}, 120_000);

afterAll(async () => {
  // Each hosted service connected as its own broker user and used only its own subjects.
  const violations = sys?.nats.output().match(/^.*(Publish|Subscription) Violation.*$/gm) ?? [];
  await sys?.[Symbol.asyncDispose]();
  expect(violations).toEqual([]);
});

const statusesOf = async (id: string) => (await eventsOf(sys.db, id)).map((e) => e.to_status);

const checkpointCount = async (id: string) =>
  (
    await sys.db
      .selectFrom('checkpoints')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('workload_id', '=', id)
      .executeTakeFirstOrThrow()
  ).n;

describe('the run path in the single-process layout', () => {
  it('submits, runs, checkpoints and completes a sleep', async () => {
    expect([...sys.services.keys()]).toEqual(['all', 'single-a']);
    const w = await sys.submit({ type: 'sleep', input: { durationMs: 600, steps: 3 } });
    const done = await sys.waitForStatus(w.id, 'COMPLETED');
    expect(done.result).toMatchObject({ steps: 3 });
    expect(done.attempt).toBe(1);
    expect(await statusesOf(w.id)).toEqual(['PENDING', 'SCHEDULED', 'RUNNING', 'COMPLETED']);
    expect(Number(await checkpointCount(w.id))).toBeGreaterThan(0);
  });

  it('loses and duplicates no outcome across a SIGKILL of the process and a restart', async () => {
    const sleeps = await Promise.all(
      Array.from({ length: 4 }, () =>
        sys.submit({ type: 'sleep', input: { durationMs: 3000, steps: 6 } }),
      ),
    );
    const noops = await Promise.all(
      Array.from({ length: 20 }, () => sys.submit({ type: 'noop', input: {} })),
    );
    // Killed while the sleeps run and have checkpoints on record.
    await waitFor(
      async () => {
        for (const w of sleeps) {
          const { body } = await sys.api<{ status: string }>('GET', `/v1/workloads/${w.id}`);
          if (body.status !== 'RUNNING' || Number(await checkpointCount(w.id)) === 0) return false;
        }
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 50, message: 'every sleep to run with a checkpoint' },
    );
    await sys.services.get('all')!.kill('SIGKILL');
    await sys.restartService('all');
    // The restarted process takes new work as well as finishing the old.
    const after = await sys.submit({ type: 'noop', input: {} });

    for (const w of [...sleeps, ...noops, after]) {
      await sys.waitForStatus(w.id, 'COMPLETED', 60_000);
      const statuses = await statusesOf(w.id);
      expect({ id: w.id, completed: statuses.filter((s) => s === 'COMPLETED').length }).toEqual({
        id: w.id,
        completed: 1,
      });
      expect(statuses.filter((s) => s === 'FAILED' || s === 'CANCELLED')).toEqual([]);
    }
  });
});
