import { placeWorkloads } from '../../src/placement/place-workloads.js';
import { taintsPolicy, tolerates } from '../../src/placement/taints.js';
import { fleetOf, job, worker } from './support.js';

describe('taints and tolerations', () => {
  const gpu = worker('a', { taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] });
  const soft = worker('b', { taints: [{ key: 'old', effect: 'PreferNoSchedule' }] });
  const plain = worker('c');

  it('tolerates by key and value (Equal), any value (Exists), and effect when given', () => {
    const taint = { key: 'gpu', value: 'true', effect: 'NoSchedule' } as const;
    expect(tolerates([{ key: 'gpu', value: 'true' }], taint)).toBe(true);
    expect(tolerates([{ key: 'gpu', value: 'false' }], taint)).toBe(false);
    expect(tolerates([{ key: 'gpu', operator: 'Exists' }], taint)).toBe(true);
    expect(tolerates([{ key: 'gpu', operator: 'Exists', effect: 'PreferNoSchedule' }], taint)).toBe(
      false,
    );
  });

  it('keeps a workload that does not tolerate a NoSchedule taint off, naming the taint', () => {
    const { fleet, state } = fleetOf([gpu, soft, plain]);
    const [check] = taintsPolicy.filters!(job(), fleet, state, []);
    expect(check!.reason).toBe('taint gpu=true:NoSchedule not tolerated');
    expect([check!.ok(0), check!.ok(1), check!.ok(2)]).toEqual([false, true, true]);
    const tolerant = job({ placement: { tolerations: [{ key: 'gpu', operator: 'Exists' }] } });
    expect(taintsPolicy.filters!(tolerant, fleet, state, [])).toEqual([]);
  });

  it('lowers the score of a PreferNoSchedule taint it does not tolerate', () => {
    const { fleet, state } = fleetOf([gpu, soft, plain]);
    const scorer = taintsPolicy.scorer!(job(), fleet, state)!;
    expect([scorer.score(1), scorer.score(2)]).toEqual([-50, 0]);
    const w = job();
    expect(placeWorkloads([w], [soft, plain], new Map()).placements[0]!.workerId).toBe('c');
  });

  it('parks a workload when only tainted workers are left, saying why', () => {
    const w = job();
    expect(placeWorkloads([w], [gpu], new Map()).unplaced).toEqual([
      {
        workloadId: w.id,
        reason:
          'taint gpu=true:NoSchedule not tolerated (1 of 1 live worker(s) that handle type "sleep")',
        parked: true,
      },
    ]);
    // A worker it tolerates, full for now: it waits in the queue instead.
    const free = worker('free');
    const usage = new Map([['free', { slots: 4, cpu: 0, memoryMb: 0, gpu: 0 }]]);
    expect(placeWorkloads([w], [gpu, free], usage).unplaced[0]!.parked).toBe(false);
  });
});
