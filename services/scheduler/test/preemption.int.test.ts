import type { SubmissionV1 } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import {
  startFakeWorker,
  startHarness,
  submission,
  submit,
  waitConsumerDrained,
  workload,
  waitForWorkload,
} from './harness.js';
import type { Harness } from './harness.js';

jest.setTimeout(60_000);

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ PREEMPTION: 'graceful', PREEMPTION_GRACE_MS: '5000' });
});

afterAll(async () => {
  await h?.close();
});

const eventsOf = (id: string) =>
  h.db
    .selectFrom('workload_events')
    .select(['reason', 'from_status', 'to_status'])
    .where('workload_id', '=', id)
    .orderBy('id')
    .execute();

describe('preemption', () => {
  it('stops a lower-priority run for a higher one, which takes its place; the victim resumes later', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'fw-pre',
      types: ['pre'],
      capacity: { slots: 1 },
    });
    const low = submission('pre', { priority: 100 });
    await submit(h, low);
    const lowRun = await worker.waitForAssignment(low.id, 1);
    await worker.started(lowRun);
    await waitForWorkload(h, low.id, (r) => r.status === 'RUNNING', 'RUNNING');

    const high = submission('pre', { priority: 900 });
    await submit(h, high);
    const preempt = await waitFor(
      () => worker.controls.find((c) => c.action === 'preempt' && c.workloadId === low.id),
      { timeoutMs: 15_000, message: 'a preempt order for the low-priority run' },
    );
    expect(preempt).toMatchObject({ attempt: 1, graceMs: 5000, reason: `preempted by ${high.id}` });
    // The capacity is the preemptor's: it is placed on that worker at once.
    const highRun = await worker.waitForAssignment(high.id, 1);

    await worker.complete(lowRun, 'released');
    await waitForWorkload(h, low.id, (r) => r.status === 'PENDING', 'the victim back in the queue');
    // The hand-back is recorded as the preemption (the pending reason then says what it waits for).
    const victimEvents = await eventsOf(low.id);
    expect(victimEvents).toEqual(
      expect.arrayContaining([
        { reason: `preempted by ${high.id}`, from_status: 'RUNNING', to_status: 'PENDING' },
      ]),
    );
    expect((await eventsOf(high.id)).map((e) => e.reason)).toEqual(
      expect.arrayContaining([`preempts ${low.id} on fw-pre`]),
    );

    await worker.complete(highRun, 'succeeded');
    await worker.waitForAssignment(low.id, 2);
  });

  it('never stops a run that is not preemptible or within the gap', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'fw-keep',
      types: ['keep'],
      capacity: { slots: 2 },
    });
    const pinned = submission('keep', { priority: 100, preemptible: false });
    const close = submission('keep', { priority: 850 });
    await submit(h, pinned);
    await submit(h, close);
    await worker.waitForAssignment(pinned.id);
    await worker.waitForAssignment(close.id);
    const urgent = submission('keep', { priority: 900 });
    await submit(h, urgent);
    await waitForWorkload(h, urgent.id, (r) => r.pending_reason !== null, 'a pending reason');
    await waitConsumerDrained(h, 'schedulerIngest');
    h.scheduler.triggerPlacement();
    await waitForWorkload(h, urgent.id, (r) => r.status === 'PENDING', 'still PENDING');
    expect(worker.controls.filter((c) => c.action === 'preempt')).toEqual([]);
  });

  it('takes the place only of runs on a worker its placement terms allow', async () => {
    await using poolA = await startFakeWorker(h, {
      id: 'fw-pool-a',
      types: ['aff'],
      capacity: { slots: 1 },
      labels: { pool: 'a' },
    });
    await using poolB = await startFakeWorker(h, {
      id: 'fw-pool-b',
      types: ['aff'],
      capacity: { slots: 1 },
      labels: { pool: 'b' },
    });
    const onB: Partial<SubmissionV1> = {
      placement: { affinity: [{ key: 'pool', operator: 'In', values: ['b'] }] },
    };
    const pinned = submission('aff', { priority: 100, preemptible: false, ...onB });
    await submit(h, pinned);
    await poolB.waitForAssignment(pinned.id);
    const low = submission('aff', { priority: 100 });
    await submit(h, low);
    await poolA.waitForAssignment(low.id);

    // Only pool b is allowed, and its run is not preemptible: the run on pool a stays.
    const urgent = submission('aff', { priority: 900, ...onB });
    await submit(h, urgent);
    await waitForWorkload(h, urgent.id, (r) => r.pending_reason !== null, 'a pending reason');
    await waitConsumerDrained(h, 'schedulerIngest');
    h.scheduler.triggerPlacement();

    // A preemptor without terms, submitted later, does take pool a's run: the pass ran.
    const free = submission('aff', { priority: 800 });
    await submit(h, free);
    const preempt = await waitFor(
      () => poolA.controls.find((c) => c.action === 'preempt' && c.workloadId === low.id),
      { timeoutMs: 15_000, message: 'a preempt order for the run on pool a' },
    );
    expect(preempt.reason).toBe(`preempted by ${free.id}`);
    expect(poolB.controls.filter((c) => c.action === 'preempt')).toEqual([]);
    expect((await workload(h, urgent.id))?.status).toBe('PENDING');
  });
  it('preempts for a workload that a worker with free slots holds only once a run is stopped (its gpu)', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'fw-gpu',
      types: ['gpu'],
      capacity: { slots: 4, gpu: 1 },
    });
    const low = submission('gpu', { priority: 100, requirements: { gpu: 1 } });
    await submit(h, low);
    const lowRun = await worker.waitForAssignment(low.id, 1);
    await worker.started(lowRun);
    await waitForWorkload(h, low.id, (r) => r.status === 'RUNNING', 'RUNNING');

    // Three slots are free, but not the gpu.
    const high = submission('gpu', { priority: 900, requirements: { gpu: 1 } });
    await submit(h, high);
    const preempt = await waitFor(
      () => worker.controls.find((c) => c.action === 'preempt' && c.workloadId === low.id),
      { timeoutMs: 15_000, message: 'a preempt order for the gpu run' },
    );
    expect(preempt.reason).toBe(`preempted by ${high.id}`);
    await worker.waitForAssignment(high.id, 1);
  });

  it('preempts for a workload whose workers are all full while other workers have free slots', async () => {
    await using full = await startFakeWorker(h, {
      id: 'fw-full',
      types: ['full'],
      capacity: { slots: 1 },
    });
    await using idle = await startFakeWorker(h, {
      id: 'fw-idle',
      types: ['idle'],
      capacity: { slots: 2 },
    });
    const low = submission('full', { priority: 100 });
    await submit(h, low);
    const lowRun = await full.waitForAssignment(low.id, 1);
    await full.started(lowRun);
    await waitForWorkload(h, low.id, (r) => r.status === 'RUNNING', 'RUNNING');

    const high = submission('full', { priority: 900 });
    await submit(h, high);
    const preempt = await waitFor(
      () => full.controls.find((c) => c.action === 'preempt' && c.workloadId === low.id),
      { timeoutMs: 15_000, message: 'a preempt order for the run on the full worker' },
    );
    expect(preempt.reason).toBe(`preempted by ${high.id}`);
    await full.waitForAssignment(high.id, 1);
    expect(idle.assignments).toEqual([]);
  });
});
