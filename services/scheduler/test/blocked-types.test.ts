import { blockedReason, queuedReason, typeAvailability } from '../src/blocked-types.js';
import type { PlacementWorker } from '../src/placement/place-workloads.js';

const worker = (id: string, slots: number, types: string[]): PlacementWorker => ({
  id,
  capacity: { slots, cpu: 4, memoryMb: 8192, gpu: 0 },
  types,
});
const used = (entries: Record<string, number>) => ({
  usage: () =>
    new Map(
      Object.entries(entries).map(([id, slots]) => [id, { slots, cpu: 0, memoryMb: 0, gpu: 0 }]),
    ),
});

describe('typeAvailability and blockedReason', () => {
  const availability = typeAvailability(
    [worker('w1', 2, ['render', 'exec']), worker('w2', 3, ['exec'])],
    used({ w1: 2, w2: 1 }),
  );

  it('counts free slots and opens only the types of workers that have one', () => {
    expect(availability.freeSlots).toBe(2);
    expect([...availability.live].sort()).toEqual(['exec', 'render']);
    expect([...availability.open]).toEqual(['exec']);
  });

  it('names a full type, an unhandled type, and nothing for an open one', () => {
    expect(blockedReason('render', availability)).toBe(
      'no free slot on the live worker(s) that handle type "render"',
    );
    expect(blockedReason('gpu-$&-job', availability)).toBe(
      'no live worker handles type "gpu-$&-job"',
    );
    expect(blockedReason('exec', availability)).toBeNull();
  });

  it('says a workload queued behind older ones waits for them while its type has a free slot', () => {
    expect(queuedReason('exec', availability)).toBe(
      'waiting behind older workloads for a slot on the live worker(s) that handle type "exec"',
    );
    expect(queuedReason('render', availability)).toBe(
      'no free slot on the live worker(s) that handle type "render"',
    );
  });
});
