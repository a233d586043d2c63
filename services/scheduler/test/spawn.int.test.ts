import {
  CONSUMERS,
  SUBJECTS,
  childWorkloadId,
  envelope,
  publishOne,
  spawnMsgId,
} from '@niyanta/messages';
import { deadLetterRow } from '@niyanta/testing';
import type { SpawnV1 } from '@niyanta/messages';
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
  h = await startHarness();
  await h.db
    .insertInto('tenants')
    .values([{ id: 'sp-t', name: 'spawning tenant' }])
    .execute();
});

afterAll(async () => {
  await h?.close();
});

/** Publishes a spawn message as a worker's run does; `msgId` defaults to a fresh one. */
async function spawn(
  from: { a: AssignmentItem; workerId: string },
  children: SpawnV1['children'],
  opts: { attempt?: number; msgId?: string } = {},
) {
  const attempt = opts.attempt ?? from.a.attempt;
  return publishOne(h.js, {
    kind: 'spawn',
    subject: SUBJECTS.spawn(from.a.workloadId),
    msgId:
      opts.msgId ??
      `${spawnMsgId(from.a.workloadId, attempt, children[0]!.index)}:${Math.random()}`,
    message: {
      ...envelope(),
      parentId: from.a.workloadId,
      attempt,
      workerId: from.workerId,
      children,
    },
  });
}

const childrenOf = (parentId: string) =>
  h.db
    .selectFrom('workloads')
    .select(['id', 'tenant', 'type', 'status', 'child_index', 'detached', 'priority', 'input'])
    .where('parent_id', '=', parentId)
    .orderBy('child_index')
    .execute();

/** A parent RUNNING on `worker`, submitted in `tenant`. */
async function runningParent(worker: FakeWorker, type: string, tenant = 'default') {
  const s = submission(type, { priority: 640 });
  await submit(h, s, tenant);
  const a = await worker.waitForAssignment(s.id);
  await worker.started(a);
  await waitForWorkload(h, s.id, (r) => r.status === 'RUNNING', 'the parent RUNNING');
  return a;
}

const kids = (from: number, n: number, type = 'sp-child') =>
  Array.from({ length: n }, (_, i) => ({
    index: from + i,
    type,
    input: { i: from + i },
  })) as SpawnV1['children'];

describe('spawned children', () => {
  it("inserts children of the parent's tenant with derived ids, once however often they are sent", async () => {
    await using worker = await startFakeWorker(h, { id: 'sp-w1', types: ['sp-parent'] });
    const a = await runningParent(worker, 'sp-parent', 'sp-t');
    // The worker says nothing of a tenant: the children are the parent's tenant's.
    await spawn({ a, workerId: worker.id }, kids(0, 3));
    // The same calls again (a redelivery, or a resumed run calling spawn in the same order).
    await spawn({ a, workerId: worker.id }, kids(0, 4));
    await waitConsumerDrained(h, 'schedulerSpawn');
    const rows = await childrenOf(a.workloadId);
    expect(rows).toHaveLength(4);
    rows.forEach((r, i) => {
      expect(r).toMatchObject({
        id: childWorkloadId(a.workloadId, i),
        tenant: 'sp-t',
        type: 'sp-child',
        status: 'PENDING',
        child_index: i,
        detached: false,
        // The parent's priority unless a child names one.
        priority: 640,
        input: { i },
      });
    });
    // One `submitted` event per child: the duplicates wrote nothing.
    const events = await h.db
      .selectFrom('workload_events')
      .select('workload_id')
      .where(
        'workload_id',
        'in',
        rows.map((r) => r.id),
      )
      .execute();
    expect(events).toHaveLength(4);
  });

  it('discards a spawn of an attempt that is not the current one, or from another worker', async () => {
    await using worker = await startFakeWorker(h, { id: 'sp-w2', types: ['sp-fenced'] });
    const a = await runningParent(worker, 'sp-fenced');
    await spawn({ a, workerId: 'sp-zombie' }, kids(0, 2));
    // An older attempt than the row's: the row is at attempt 1, so make the parent's attempt 2.
    await h.db
      .updateTable('workloads')
      .set({ attempt: 2 })
      .where('id', '=', a.workloadId)
      .execute();
    await spawn({ a, workerId: worker.id }, kids(0, 2), { attempt: 1 });
    await waitConsumerDrained(h, 'schedulerSpawn');
    expect(await childrenOf(a.workloadId)).toEqual([]);
    // The current attempt on the recorded worker is let through.
    await spawn({ a: { ...a, attempt: 2 }, workerId: worker.id }, kids(0, 1));
    await waitConsumerDrained(h, 'schedulerSpawn');
    expect(await childrenOf(a.workloadId)).toHaveLength(1);
  });

  it('discards a spawn of a parent that has ended', async () => {
    await using worker = await startFakeWorker(h, { id: 'sp-w3', types: ['sp-ended'] });
    const a = await runningParent(worker, 'sp-ended');
    await worker.complete(a, 'succeeded', { result: null });
    await waitForWorkload(h, a.workloadId, (r) => r.status === 'COMPLETED', 'COMPLETED');
    await spawn({ a, workerId: worker.id }, kids(0, 2));
    await waitConsumerDrained(h, 'schedulerSpawn');
    expect(await childrenOf(a.workloadId)).toEqual([]);
  });

  it('cancels the children with their parent, down the tree, except detached ones', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'sp-w4',
      types: ['sp-tree', 'sp-running-child'],
      capacity: { slots: 8 },
    });
    const a = await runningParent(worker, 'sp-tree');
    await spawn({ a, workerId: worker.id }, [
      { index: 0, type: 'sp-nobody', input: null },
      { index: 1, type: 'sp-nobody', input: null, detached: true },
      { index: 2, type: 'sp-running-child', input: null },
    ]);
    const running = childWorkloadId(a.workloadId, 2);
    const ca = await worker.waitForAssignment(running);
    await worker.started(ca);
    await waitForWorkload(h, running, (r) => r.status === 'RUNNING', 'the child RUNNING');
    // A grandchild under the running child.
    await spawn({ a: ca, workerId: worker.id }, [{ index: 0, type: 'sp-nobody', input: null }]);
    const grandchild = childWorkloadId(running, 0);
    await waitForWorkload(h, grandchild, (r) => r.status === 'PENDING', 'the grandchild');

    await publishOne(h.js, {
      kind: 'command',
      subject: SUBJECTS.command('default'),
      message: { ...envelope(), workloadId: a.workloadId, command: 'cancel' },
    });
    await waitForWorkload(
      h,
      grandchild,
      (r) => r.status === 'CANCELLED',
      'the grandchild CANCELLED',
    );
    const rows = await childrenOf(a.workloadId);
    expect(rows.map((r) => r.status)).toEqual(['CANCELLED', 'PENDING', 'RUNNING']);
    // The running child is asked to stop (its run's end records CANCELLED), as its parent is.
    const [parent, child] = await h.db
      .selectFrom('workloads')
      .select(['id', 'requested_action'])
      .where('id', 'in', [a.workloadId, running])
      .orderBy('id')
      .execute();
    expect(parent!.requested_action).toBe('cancel');
    expect(child!.requested_action).toBe('cancel');
    expect(worker.controls.filter((c) => c.workloadId === running)).toEqual([
      expect.objectContaining({ action: 'stop', attempt: 1 }),
    ]);
    const reasons = await h.db
      .selectFrom('workload_events')
      .select('reason')
      .where('workload_id', '=', grandchild)
      .where('to_status', '=', 'CANCELLED')
      .execute();
    expect(reasons).toEqual([{ reason: `cancelled: parent ${running} cancelled` }]);
  });

  it("hands a resumed parent its children's state and results in the assignment", async () => {
    await using worker = await startFakeWorker(h, {
      id: 'sp-w5',
      types: ['sp-resume', 'sp-quick'],
      capacity: { slots: 8 },
    });
    const a = await runningParent(worker, 'sp-resume');
    await spawn({ a, workerId: worker.id }, [
      { index: 0, type: 'sp-quick', input: 1 },
      { index: 1, type: 'sp-quick', input: 2 },
      { index: 2, type: 'sp-nobody', input: 3 },
    ]);
    const [c0, c1] = [childWorkloadId(a.workloadId, 0), childWorkloadId(a.workloadId, 1)];
    const a0 = await worker.waitForAssignment(c0);
    const a1 = await worker.waitForAssignment(c1);
    await worker.complete(a0, 'succeeded', { result: { doubled: 2 } });
    await worker.complete(a1, 'failed', {
      error: { message: 'no', code: 'NOPE', retryable: false },
    });
    await waitForWorkload(h, c1, (r) => r.status === 'FAILED', 'child 1 FAILED');
    await waitForWorkload(h, c0, (r) => r.status === 'COMPLETED', 'child 0 COMPLETED');
    // The parent's run is handed back (a drain): its next attempt carries the children.
    await worker.complete(a, 'released');
    const resumed = await worker.waitForAssignment(a.workloadId, 2);
    expect(resumed.children).toEqual([
      { index: 0, status: 'COMPLETED', result: { doubled: 2 } },
      { index: 1, status: 'FAILED', error: { message: 'no', code: 'NOPE', retryable: false } },
      { index: 2, status: 'PENDING' },
    ]);
  });

  it('wakes a parent gathering its children once they have all ended, with their results', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'sp-w6',
      types: ['sp-gather', 'sp-leaf'],
      capacity: { slots: 8 },
    });
    const a = await runningParent(worker, 'sp-gather');
    await spawn({ a, workerId: worker.id }, kids(0, 3, 'sp-leaf'));
    await worker.complete(a, 'waiting', {
      wait: { seq: 0, kind: 'children', spec: { ranges: [[0, 2]] } },
    });
    await waitForWorkload(h, a.workloadId, (r) => r.status === 'WAITING', 'the parent WAITING');
    const leaves = await Promise.all(
      [0, 1, 2].map((i) => worker.waitForAssignment(childWorkloadId(a.workloadId, i))),
    );
    for (const leaf of leaves.slice(0, 2))
      await worker.complete(leaf, 'succeeded', { result: { i: leaf.input } });
    await waitForWorkload(
      h,
      leaves[1]!.workloadId,
      (r) => r.status === 'COMPLETED',
      'child 1 COMPLETED',
    );
    // Two of three ended: still waiting.
    await waitConsumerDrained(h, 'schedulerComplete');
    expect((await workload(h, a.workloadId))!.status).toBe('WAITING');
    await worker.complete(leaves[2]!, 'failed', {
      error: { message: 'bad leaf', code: 'LEAF', retryable: false },
    });
    const resumed = await worker.waitForAssignment(a.workloadId, 2);
    expect(resumed.waits).toEqual([expect.objectContaining({ seq: 0, kind: 'children' })]);
    expect(resumed.children).toEqual([
      { index: 0, status: 'COMPLETED', result: { i: { i: 0 } } },
      { index: 1, status: 'COMPLETED', result: { i: { i: 1 } } },
      {
        index: 2,
        status: 'FAILED',
        error: { message: 'bad leaf', code: 'LEAF', retryable: false },
      },
    ]);
  });

  it('wakes a gathering parent when its wait times out, its children running on', async () => {
    await using worker = await startFakeWorker(h, { id: 'sp-w6t', types: ['sp-gather-t'] });
    const a = await runningParent(worker, 'sp-gather-t');
    // No worker takes sp-nobody: the child stays PENDING.
    await spawn({ a, workerId: worker.id }, kids(0, 1, 'sp-nobody'));
    await worker.complete(a, 'waiting', {
      wait: { seq: 0, kind: 'children', spec: { ranges: [[0, 0]] }, timeoutMs: 300 },
    });
    const resumed = await worker.waitForAssignment(a.workloadId, 2);
    expect(resumed.waits).toEqual([
      expect.objectContaining({ seq: 0, kind: 'children', timedOut: true }),
    ]);
    expect(resumed.children).toEqual([{ index: 0, status: 'PENDING' }]);
  });

  it('counts the spawns of an attempt recorded after its wait, and resolves a wait whose children have already ended', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'sp-w7',
      types: ['sp-late', 'sp-leaf2'],
      capacity: { slots: 8 },
    });
    const a = await runningParent(worker, 'sp-late');
    // The wait is recorded before the spawn message is (they travel on different streams).
    await worker.complete(a, 'waiting', {
      wait: { seq: 0, kind: 'children', spec: { ranges: [[0, 0]] } },
    });
    await waitForWorkload(h, a.workloadId, (r) => r.status === 'WAITING', 'the parent WAITING');
    await spawn({ a, workerId: worker.id }, kids(0, 1, 'sp-leaf2'));
    const leaf = await worker.waitForAssignment(childWorkloadId(a.workloadId, 0));
    await worker.complete(leaf, 'succeeded', { result: 'done' });
    const second = await worker.waitForAssignment(a.workloadId, 2);
    expect(second.children).toEqual([{ index: 0, status: 'COMPLETED', result: 'done' }]);
    // Attempt 2 gathers again a child that has ended: the wait is resolved as it is recorded.
    await worker.started(second);
    await worker.complete(second, 'waiting', {
      wait: { seq: 1, kind: 'children', spec: { ranges: [[0, 0]] } },
    });
    await worker.waitForAssignment(a.workloadId, 3);
  });

  it('records a spawn that is not one as a dead letter, and ingests the spawns beside it', async () => {
    await using worker = await startFakeWorker(h, { id: 'sp-w8', types: ['sp-poison'] });
    const a = await runningParent(worker, 'sp-poison');
    const poison = Buffer.from(
      JSON.stringify({
        ...envelope(),
        parentId: a.workloadId,
        attempt: a.attempt,
        workerId: worker.id,
        children: [{ index: -1, type: 'sp-x', input: null }],
      }),
    );
    const bad = await h.js.publish(SUBJECTS.spawn(a.workloadId), poison);
    await spawn({ a, workerId: worker.id }, kids(0, 2));
    const row = await deadLetterRow(h.db, CONSUMERS.schedulerSpawn.durable_name, bad.seq, 15_000);
    expect(row).toMatchObject({ stream: 'NIYANTA_SPAWN' });
    expect(row.error).toMatch(/\/children\/0\/index must be >= 0/);
    await waitConsumerDrained(h, 'schedulerSpawn');
    expect(await childrenOf(a.workloadId)).toHaveLength(2);
  });

  it('wakes a gathering parent whose children ended without a word to it (the sweep)', async () => {
    await using worker = await startFakeWorker(h, { id: 'sp-w9', types: ['sp-swept'] });
    const a = await runningParent(worker, 'sp-swept');
    await spawn({ a, workerId: worker.id }, kids(0, 2, 'sp-nobody'));
    await worker.complete(a, 'waiting', {
      wait: { seq: 0, kind: 'children', spec: { ranges: [[0, 1]] } },
    });
    await waitForWorkload(h, a.workloadId, (r) => r.status === 'WAITING', 'the parent WAITING');
    // Ended behind the scheduler's back, as if it died between their commit and the follow-up.
    await h.db
      .updateTable('workloads')
      .set({ status: 'CANCELLED', parked: false, finished_at: new Date() })
      .where('parent_id', '=', a.workloadId)
      .execute();
    const resumed = await worker.waitForAssignment(a.workloadId, 2);
    expect(resumed.children?.map((c) => c.status)).toEqual(['CANCELLED', 'CANCELLED']);
  });
});
