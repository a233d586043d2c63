import { EXPLAINED_WORKERS_MAX } from '../../src/placement/explain.js';
import { placeWorkloads } from '../../src/placement/place-workloads.js';
import { job, worker } from './support.js';

describe('explain', () => {
  it('gives every worker its reasons, best first, and counts the rest per reason', () => {
    const workers = Array.from({ length: 60 }, (_, i) =>
      worker(`w${String(i).padStart(2, '0')}`, {
        zone: i < 55 ? 'us-1' : 'eu-1',
        ...(i === 59 ? { types: ['exec'] } : {}),
      }),
    );
    const full = new Map(
      workers.slice(55).map((w) => [w.id, { slots: 4, cpu: 0, memoryMb: 0, gpu: 0 }]),
    );
    const w = job({ placement: { affinity: [{ key: 'zone', operator: 'In', values: ['eu-1'] }] } });
    const result = placeWorkloads([w], workers, full, { explain: 1 });
    const u = result.unplaced[0]!;
    expect(u.reason).toBe(
      'label zone is not one of [eu-1] (required affinity) (55 of 59 live worker(s) that handle type "sleep")',
    );
    const e = u.explanation!;
    expect(e.workers).toHaveLength(EXPLAINED_WORKERS_MAX);
    expect(e.evaluated).toBe(60);
    expect(e.workers[0]).toEqual({
      workerId: 'w00',
      feasible: false,
      reasons: ['label zone is not one of [eu-1] (required affinity)'],
      score: 0,
      scores: {},
    });
    expect(e.reasonCounts).toEqual({
      'label zone is not one of [eu-1] (required affinity)': 5,
      'no free slot': 4,
      'does not handle type "sleep"': 1,
    });
  });

  it('gives a placement its scores by name', () => {
    const w = job({
      placement: { affinity: [{ key: 'zone', operator: 'In', values: ['eu-1'], weight: 10 }] },
    });
    const result = placeWorkloads([w], [worker('a', { zone: 'eu-1' })], new Map(), {
      scores: true,
    });
    expect(result.placements[0]).toEqual({
      workloadId: w.id,
      workerId: 'a',
      score: 110,
      scores: { spread: 100, affinity: 10 },
    });
  });
});
