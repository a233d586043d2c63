import { placeWorkloads } from '../../src/placement/place-workloads.js';
import { topologySpreadPolicy } from '../../src/placement/topology-spread.js';
import { fleetOf, job, worker } from './support.js';

describe('topology spread', () => {
  const spread = { topologyKey: 'zone' as const, maxSkew: 1, labels: { app: 'web' } };

  it('refuses a zone whose count would exceed the smallest by more than maxSkew', () => {
    const workers = [worker('a', { zone: 'z1' }), worker('b', { zone: 'z2' }), worker('c')];
    const running = [{ workerId: 'a', labels: { app: 'web' } }];
    const { fleet, state } = fleetOf(workers, running);
    const checks = topologySpreadPolicy.filters!(
      job({ placement: { spread } }),
      fleet,
      state,
      [0, 1, 2],
    );
    expect(checks.map((c) => c.reason)).toEqual([
      'no zone (spread by zone needs one)',
      'spread by zone of app=web would exceed maxSkew 1',
    ]);
    expect(checks[1]!.ok(0)).toBe(false);
    expect(checks[1]!.ok(1)).toBe(true);
    expect(checks[0]!.ok(2)).toBe(false);
  });

  it('counts only zones with an eligible worker', () => {
    const workers = [worker('a', { zone: 'z1' }), worker('b', { zone: 'z2' })];
    const { fleet, state } = fleetOf(workers, [{ workerId: 'a', labels: { app: 'web' } }]);
    const checks = topologySpreadPolicy.filters!(job({ placement: { spread } }), fleet, state, [0]);
    expect(checks[1]!.ok(0)).toBe(true); // z2 has no eligible worker: it does not count
  });

  it('spreads 12 workloads 4/4/4 over 3 zones', () => {
    const workers = ['z1', 'z2', 'z3'].map((z, i) =>
      worker(`w${i}`, { zone: z, capacity: { slots: 12, cpu: 12, memoryMb: 8192, gpu: 0 } }),
    );
    // Bin-pack would put them all on one worker: the spread constraint holds it back.
    const jobs = Array.from({ length: 12 }, () =>
      job({ labels: { app: 'web' }, placement: { spread, strategy: 'binpack' } }),
    );
    const result = placeWorkloads(jobs, workers, new Map());
    const perWorker = new Map<string, number>();
    for (const p of result.placements)
      perWorker.set(p.workerId, (perWorker.get(p.workerId) ?? 0) + 1);
    expect([...perWorker.values()]).toEqual([4, 4, 4]);
  });
});
