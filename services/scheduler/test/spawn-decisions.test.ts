import { childWorkloadId } from '@niyanta/messages';
import { FENCE } from '../src/workload-core/decisions/fence.js';
import { childWorkloads, spawnFence } from '../src/workload-core/decisions/spawn.js';
import { workloadRow } from './workload-row.js';

describe('spawnFence', () => {
  const msg = { attempt: 2, workerId: 'w1' };

  it('lets the current attempt on its worker through, and no other', () => {
    expect(spawnFence(workloadRow(), msg)).toBe(FENCE.apply);
    expect(spawnFence(workloadRow(), { ...msg, workerId: 'w2' })).toBe(FENCE.discard);
    expect(spawnFence(workloadRow(), { ...msg, attempt: 1 })).toBe(FENCE.discard);
    expect(spawnFence(workloadRow(), { ...msg, attempt: 3 })).toBe(FENCE.later);
    expect(spawnFence(undefined, msg)).toBe(FENCE.later);
  });

  it('keeps the spawns of an attempt that has left its slot since (a wait, a hand-back, a pause)', () => {
    for (const status of ['WAITING', 'PENDING', 'PAUSED'])
      expect(spawnFence(workloadRow({ status, worker_id: null }), msg)).toBe(FENCE.apply);
    // Not those of an earlier attempt, nor of an ended parent.
    expect(spawnFence(workloadRow({ status: 'WAITING', worker_id: null, attempt: 3 }), msg)).toBe(
      FENCE.discard,
    );
    for (const status of ['COMPLETED', 'FAILED', 'CANCELLED'])
      expect(spawnFence(workloadRow({ status, worker_id: null }), msg)).toBe(FENCE.discard);
  });
});

describe('childWorkloads', () => {
  it("makes submissions of the parent's tenant with derived ids, the parent's priority and key", () => {
    const parent = workloadRow({ tenant: 'acme', priority: 720, submitted_by: 'key-1' });
    const out = childWorkloads(parent, {
      children: [
        { index: 4, type: 'leaf', input: { a: 1 } },
        { index: 5, type: 'leaf', input: null, priority: 10, maxAttempts: 1, detached: true },
      ],
    });
    expect(out).toEqual([
      {
        tenant: 'acme',
        submission: {
          schemaVersion: 1,
          id: childWorkloadId(parent.id, 4),
          type: 'leaf',
          input: { a: 1 },
          priority: 720,
          submittedBy: 'key-1',
        },
        parent: { id: parent.id, index: 4, detached: false },
      },
      {
        tenant: 'acme',
        submission: {
          schemaVersion: 1,
          id: childWorkloadId(parent.id, 5),
          type: 'leaf',
          input: null,
          priority: 10,
          maxAttempts: 1,
          submittedBy: 'key-1',
        },
        parent: { id: parent.id, index: 5, detached: true },
      },
    ]);
  });
});
