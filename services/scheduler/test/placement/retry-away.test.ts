import { placeWorkloads } from '../../src/placement/place-workloads.js';
import { job, worker } from './support.js';

describe('retry away', () => {
  it('prefers a worker other than those earlier attempts failed on', () => {
    const usage = new Map([['b', { slots: 3, cpu: 0, memoryMb: 0, gpu: 0 }]]);
    const w = job({ failedOn: ['a'] });
    const result = placeWorkloads([w], [worker('a'), worker('b')], usage, { scores: true });
    expect(result.placements[0]).toMatchObject({ workerId: 'b', scores: { spread: 25 } });
  });

  it('still uses that worker when no other fits', () => {
    const w = job({ failedOn: ['a'] });
    expect(placeWorkloads([w], [worker('a')], new Map()).placements[0]!.workerId).toBe('a');
  });
});
