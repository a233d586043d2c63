import { affinityPolicy, matchesTerm } from '../../src/placement/affinity.js';
import { placeWorkloads } from '../../src/placement/place-workloads.js';
import { fleetOf, job, worker } from './support.js';

describe('affinity', () => {
  const a = worker('a', { zone: 'eu-1', labels: { disk: 'ssd' } });
  const b = worker('b', { zone: 'us-1', labels: {} });

  it('matches In, NotIn, Exists and DoesNotExist against labels and the built-ins', () => {
    expect(matchesTerm(a, { key: 'zone', operator: 'In', values: ['eu-1'] })).toBe(true);
    expect(matchesTerm(b, { key: 'zone', operator: 'In', values: ['eu-1'] })).toBe(false);
    expect(matchesTerm(a, { key: 'worker', operator: 'NotIn', values: ['a'] })).toBe(false);
    expect(matchesTerm(b, { key: 'disk', operator: 'NotIn', values: ['ssd'] })).toBe(true);
    expect(matchesTerm(a, { key: 'disk', operator: 'Exists' })).toBe(true);
    expect(matchesTerm(b, { key: 'disk', operator: 'DoesNotExist' })).toBe(true);
  });

  it('refuses workers that fail a required term, with the term in plain words', () => {
    const { fleet, state } = fleetOf([a, b]);
    const w = job({ placement: { affinity: [{ key: 'zone', operator: 'In', values: ['eu-1'] }] } });
    const [check] = affinityPolicy.filters!(w, fleet, state, []);
    expect(check!.reason).toBe('label zone is not one of [eu-1] (required affinity)');
    expect([check!.ok(0), check!.ok(1)]).toEqual([true, false]);
  });

  it('adds the weight of each preferred term a worker matches', () => {
    const { fleet, state } = fleetOf([a, b]);
    const w = job({
      placement: {
        affinity: [
          { key: 'disk', operator: 'In', values: ['ssd'], weight: 30 },
          { key: 'zone', operator: 'Exists', weight: 5 },
        ],
      },
    });
    expect(affinityPolicy.filters!(w, fleet, state, [])).toEqual([]);
    const scorer = affinityPolicy.scorer!(w, fleet, state)!;
    expect([scorer.score(0), scorer.score(1)]).toEqual([35, 5]);
  });

  it('places on the preferred worker even when it is more loaded', () => {
    const w = job({
      placement: { affinity: [{ key: 'disk', operator: 'In', values: ['ssd'], weight: 100 }] },
    });
    const usage = new Map([['a', { slots: 2, cpu: 0, memoryMb: 0, gpu: 0 }]]);
    expect(placeWorkloads([w], [a, b], usage).placements).toEqual([
      { workloadId: w.id, workerId: 'a' },
    ]);
  });
});
