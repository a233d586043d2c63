import { costPolicy, spotPolicy } from '../../src/placement/cost.js';
import { placeWorkloads } from '../../src/placement/place-workloads.js';
import { fleetOf, job, worker } from './support.js';

describe('cost and spot', () => {
  const cheap = worker('a', { costPerHour: 0.1 });
  const dear = worker('b', { costPerHour: 2 });
  const spot = worker('c', { costPerHour: 0.05, spot: true });

  it('refuses workers dearer than maxCostPerHour', () => {
    const { fleet, state } = fleetOf([cheap, dear]);
    const [check] = costPolicy.filters!(
      job({ placement: { maxCostPerHour: 1 } }),
      fleet,
      state,
      [],
    );
    expect(check!.reason).toBe('costs more per hour than maxCostPerHour 1');
    expect([check!.ok(0), check!.ok(1)]).toEqual([true, false]);
  });

  it('picks the cheaper of otherwise equal workers', () => {
    const w = job();
    expect(placeWorkloads([w], [dear, cheap], new Map()).placements[0]!.workerId).toBe('a');
  });

  it('avoids, penalizes or prefers spot workers', () => {
    const { fleet, state } = fleetOf([cheap, spot]);
    const avoid = job({ placement: { spot: 'avoid' } });
    const [check] = spotPolicy.filters!(avoid, fleet, state, []);
    expect(check!.reason).toBe('spot worker (spot: avoid)');
    expect(check!.ok(1)).toBe(false);
    expect(spotPolicy.scorer!(job(), fleet, state)!.score(1)).toBe(-50);
    expect(spotPolicy.scorer!(job({ placement: { spot: 'prefer' } }), fleet, state)!.score(1)).toBe(
      50,
    );
    const allow = job();
    const prefer = job({ placement: { spot: 'prefer' } });
    const result = placeWorkloads([allow, prefer], [cheap, spot], new Map());
    expect(result.placements.map((p) => p.workerId)).toEqual(['a', 'c']);
  });
});
