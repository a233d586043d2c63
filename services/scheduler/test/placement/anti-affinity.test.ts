import { antiAffinityPolicy } from '../../src/placement/anti-affinity.js';
import { placeWorkloads } from '../../src/placement/place-workloads.js';
import { fleetOf, job, worker } from './support.js';

describe('anti-affinity', () => {
  const workers = [
    worker('a', { zone: 'z1' }),
    worker('b', { zone: 'z1' }),
    worker('c', { zone: 'z2' }),
  ];
  const running = [{ workerId: 'a', labels: { app: 'db' } }];

  it('refuses a worker, or a zone, running a matching workload', () => {
    const { fleet, state } = fleetOf(workers, running);
    const perWorker = job({
      placement: { antiAffinity: [{ labels: { app: 'db' }, topologyKey: 'worker' }] },
    });
    const [w] = antiAffinityPolicy.filters!(perWorker, fleet, state, []);
    expect(w!.reason).toBe('a workload matching anti-affinity app=db runs on it');
    expect([w!.ok(0), w!.ok(1), w!.ok(2)]).toEqual([false, true, true]);
    const perZone = job({
      placement: { antiAffinity: [{ labels: { app: 'db' }, topologyKey: 'zone' }] },
    });
    const [z] = antiAffinityPolicy.filters!(perZone, fleet, state, []);
    expect([z!.ok(0), z!.ok(1), z!.ok(2)]).toEqual([false, false, true]);
  });

  it('with a weight, lowers the score instead', () => {
    const { fleet, state } = fleetOf(workers, running);
    const soft = job({
      placement: { antiAffinity: [{ labels: { app: 'db' }, topologyKey: 'zone', weight: 40 }] },
    });
    expect(antiAffinityPolicy.filters!(soft, fleet, state, [])).toEqual([]);
    const scorer = antiAffinityPolicy.scorer!(soft, fleet, state)!;
    expect([scorer.score(1), scorer.score(2)]).toEqual([-40, 0]);
  });

  it('counts the workloads the same call placed', () => {
    const terms = { antiAffinity: [{ labels: { app: 'web' }, topologyKey: 'worker' as const }] };
    const jobs = [1, 2, 3, 4].map(() => job({ labels: { app: 'web' }, placement: terms }));
    const result = placeWorkloads(jobs, workers, new Map());
    expect(result.placements.map((p) => p.workerId).sort()).toEqual(['a', 'b', 'c']);
    expect(result.unplaced[0]!.reason).toMatch(/anti-affinity app=web runs on it \(3 of 3/);
  });
});
