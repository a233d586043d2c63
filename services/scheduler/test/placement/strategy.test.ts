import { placeWorkloads } from '../../src/placement/place-workloads.js';
import { binpackScore, spreadScore } from '../../src/placement/strategy.js';
import { fleetOf, job, worker } from './support.js';

describe('strategy', () => {
  it('spread scores the least loaded highest, binpack the most loaded by dominant resource', () => {
    expect(spreadScore(0, 4)).toBe(100);
    expect(spreadScore(3, 4)).toBe(25);
    const usage = new Map([['a', { slots: 1, cpu: 3, memoryMb: 0, gpu: 0 }]]);
    const { fleet } = fleetOf([worker('a'), worker('b')], [], usage);
    expect(binpackScore(fleet, 0, 0, 0, 0)).toBe(75); // cpu 3 of 4 dominates slots 2 of 4
    expect(binpackScore(fleet, 1, 0, 0, 0)).toBe(25);
  });

  it('places by the scheduler default, or the workload own strategy', () => {
    const workers = [worker('a'), worker('b')];
    const usage = new Map([['b', { slots: 1, cpu: 0, memoryMb: 0, gpu: 0 }]]);
    const w1 = job();
    const w2 = job({ placement: { strategy: 'binpack' } });
    const spread = placeWorkloads([w1], workers, usage);
    expect(spread.placements[0]!.workerId).toBe('a');
    const packed = placeWorkloads([w1], workers, usage, { strategy: 'binpack' });
    expect(packed.placements[0]!.workerId).toBe('b');
    expect(placeWorkloads([w2], workers, usage).placements[0]!.workerId).toBe('b');
  });
});
