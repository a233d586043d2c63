import { placeWorkloads } from '../../src/placement/place-workloads.js';
import { job, worker } from './support.js';

describe('fractional GPUs', () => {
  it('puts two 0.5 GPU workloads on one whole GPU, and a third waits', () => {
    const one = worker('a', { capacity: { slots: 8, cpu: 8, memoryMb: 8192, gpu: 1 } });
    const jobs = [1, 2, 3].map(() => job({ requirements: { gpu: 0.5 } }));
    const result = placeWorkloads(jobs, [one], new Map());
    expect(result.placements.map((p) => p.workerId)).toEqual(['a', 'a']);
    expect(result.unplaced[0]!.reason).toMatch(/not enough free cpu, memoryMb or gpu/);
  });

  it('adds quarters exactly', () => {
    const two = worker('a', { capacity: { slots: 8, cpu: 8, memoryMb: 8192, gpu: 2 } });
    const jobs = Array.from({ length: 5 }, () => job({ requirements: { gpu: 0.25 } }));
    jobs.push(job({ requirements: { gpu: 0.75 } }), job({ requirements: { gpu: 0.25 } }));
    const result = placeWorkloads(jobs, [two], new Map());
    expect(result.placements).toHaveLength(6);
    expect(result.unplaced).toHaveLength(1);
  });
});
