import { placeWorkloads } from '../src/placement/place-workloads.js';
import type {
  PendingWorkload,
  PlacementWorker,
  WorkerUsage,
} from '../src/placement/place-workloads.js';

const worker = (
  id: string,
  over: Partial<PlacementWorker['capacity']> = {},
  types: string[] = ['sleep'],
): PlacementWorker => ({
  id,
  capacity: { slots: 4, cpu: 4, memoryMb: 8192, gpu: 0, ...over },
  types,
});
let seq = 0;
const pending = (over: Partial<PendingWorkload> = {}): PendingWorkload => ({
  id: `00000000-0000-7000-8000-${String(++seq).padStart(12, '0')}`,
  type: 'sleep',
  priority: 500,
  requirements: {},
  ...over,
});
const usage = (entries: Record<string, Partial<WorkerUsage>> = {}) =>
  new Map(
    Object.entries(entries).map(([id, u]) => [id, { slots: 0, cpu: 0, memoryMb: 0, gpu: 0, ...u }]),
  );

describe('placeWorkloads', () => {
  it('places only on workers that handle the type, and says when none does', () => {
    const a = pending({ type: 'exec' });
    const b = pending({ type: 'render' });
    const result = placeWorkloads([a, b], [worker('w1'), worker('w2', {}, ['exec'])], usage());
    expect(result.placements).toEqual([{ workloadId: a.id, workerId: 'w2' }]);
    expect(result.unplaced).toEqual([
      { workloadId: b.id, reason: 'no live worker handles type "render"', parked: true },
    ]);
  });

  it('names the resource a workload needs more of than the largest worker offers', () => {
    const mem = pending({ requirements: { memoryMb: 99999 } });
    const cpu = pending({ requirements: { cpu: 16 } });
    const gpu = pending({ requirements: { gpu: 1 } });
    const result = placeWorkloads(
      [mem, cpu, gpu],
      [worker('w1'), worker('w2', { memoryMb: 4096 })],
      usage(),
    );
    expect(result.placements).toEqual([]);
    expect(result.unplaced).toEqual([
      {
        workloadId: mem.id,
        reason: 'needs memoryMb 99999 but the largest live worker offers 8192',
        parked: true,
      },
      {
        workloadId: cpu.id,
        reason: 'needs cpu 16 but the largest live worker offers 4',
        parked: true,
      },
      {
        workloadId: gpu.id,
        reason: 'needs gpu 1 but the largest live worker offers 0',
        parked: true,
      },
    ]);
  });

  it('parks a workload no single worker offers all of, and only waits one that fits a busy worker', () => {
    const both = pending({ requirements: { cpu: 8, gpu: 1 } });
    const busy = pending({ requirements: { cpu: 8 } });
    const result = placeWorkloads(
      [both, busy],
      [worker('cpu', { cpu: 8 }), worker('gpu', { cpu: 2, gpu: 1 })],
      usage({ cpu: { cpu: 1 } }),
    );
    expect(result.placements).toEqual([]);
    expect(result.unplaced).toEqual([
      {
        workloadId: both.id,
        reason:
          'no live worker handling type "sleep" offers all of its cpu, memoryMb and gpu together',
        parked: true,
      },
      {
        workloadId: busy.id,
        reason:
          'not enough free cpu, memoryMb or gpu on the 1 live worker(s) that fit and have a free slot',
        parked: false,
      },
    ]);
  });

  it('fills free slots and then reports no free slot on the workers that fit', () => {
    const items = [pending(), pending(), pending()];
    const result = placeWorkloads(items, [worker('w1', { slots: 2 })], usage({ w1: { slots: 1 } }));
    expect(result.placements).toEqual([{ workloadId: items[0]!.id, workerId: 'w1' }]);
    expect(result.unplaced.map((u) => u.reason)).toEqual([
      'no free slot on the 1 live worker(s) that fit',
      'no free slot on the 1 live worker(s) that fit',
    ]);
  });

  it('subtracts the resources of running work and of what it already placed', () => {
    const items = [
      pending({ requirements: { cpu: 2, memoryMb: 3000 } }),
      pending({ requirements: { cpu: 2, memoryMb: 3000 } }),
    ];
    // 8192 - 2000 used = 6192: room for one 3000 run after the first placement, not two.
    const result = placeWorkloads(
      items,
      [worker('w1', { slots: 10, cpu: 8 })],
      usage({ w1: { slots: 1, memoryMb: 3000 } }),
    );
    expect(result.placements).toHaveLength(1);
    expect(result.unplaced[0]!.reason).toMatch(
      /not enough free cpu, memoryMb or gpu on the 1 live worker/,
    );
  });

  it('places gpu work only where gpus are free', () => {
    const g = pending({ requirements: { gpu: 2 } });
    const result = placeWorkloads([g], [worker('a', { gpu: 1 }), worker('b', { gpu: 2 })], usage());
    expect(result.placements).toEqual([{ workloadId: g.id, workerId: 'b' }]);
  });

  it('picks the least loaded worker relative to its slots, ties to the smallest id', () => {
    const [x, y, z] = [pending(), pending(), pending()];
    const workers = [
      worker('c', { slots: 8 }),
      worker('b', { slots: 2 }),
      worker('a', { slots: 2 }),
    ];
    // Loads: a 1/2, b 1/2, c 2/8: c first; then c 3/8 < a 1/2 so c again; then c 4/8 ties a and b: a.
    const result = placeWorkloads(
      [x!, y!, z!],
      workers,
      usage({ a: { slots: 1 }, b: { slots: 1 }, c: { slots: 2 } }),
    );
    expect(result.placements.map((p) => p.workerId)).toEqual(['c', 'c', 'a']);
  });

  it('gives the last slot to the highest priority, then the oldest', () => {
    const low = pending({ priority: 100 });
    const oldHigh = pending({ priority: 900 });
    const newHigh = pending({ priority: 900 });
    const result = placeWorkloads([low, newHigh, oldHigh], [worker('w1', { slots: 1 })], usage());
    expect(result.placements).toEqual([{ workloadId: oldHigh.id, workerId: 'w1' }]);
    expect(result.unplaced.map((u) => u.workloadId)).toEqual([newHigh.id, low.id]);
  });

  it('decides 10,000 pending on 1,000 workers within 50 µs each', () => {
    const types = ['a', 'b', 'c', 'd'];
    const workers = Array.from({ length: 1000 }, (_, i) =>
      worker(`w${String(i).padStart(4, '0')}`, { slots: 8, cpu: 16, memoryMb: 32768 }, [
        types[i % 4]!,
      ]),
    );
    const items = Array.from({ length: 10_000 }, (_, i) =>
      pending({ type: types[i % 4]!, priority: i % 10, requirements: { cpu: 1, memoryMb: 512 } }),
    );
    const used = usage(
      Object.fromEntries(
        workers.map((w, i) => [w.id, { slots: i % 8, cpu: i % 8, memoryMb: 512 * (i % 8) }]),
      ),
    );
    placeWorkloads(items, workers, used); // warm up
    const started = process.hrtime.bigint();
    const result = placeWorkloads(items, workers, used);
    const perDecisionUs = Number(process.hrtime.bigint() - started) / 1000 / items.length;
    expect(result.placements.length + result.unplaced.length).toBe(10_000);
    const freeSlots = [...workers].reduce(
      (sum, w) => sum + w.capacity.slots - used.get(w.id)!.slots,
      0,
    );
    expect(result.placements).toHaveLength(freeSlots);
    expect(new Set(result.unplaced.map((u) => u.reason.replace(/\d+/, 'N')))).toEqual(
      new Set(['no free slot on the N live worker(s) that fit']),
    );
    expect(perDecisionUs).toBeLessThan(50);
  });
});
