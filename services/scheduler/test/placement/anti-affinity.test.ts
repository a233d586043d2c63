import { REPELLED_REASON, antiAffinityPolicy } from '../../src/placement/anti-affinity.js';
import { CallState, buildFleet, callTerms } from '../../src/placement/fleet.js';
import type { RunningWorkload } from '../../src/placement/framework.js';
import { placeWorkloads } from '../../src/placement/place-workloads.js';
import { UsageLedger } from '../../src/placement/usage-ledger.js';
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
    // What runs decides it, not the fleet's traits: it waits in the queue, not parked.
    expect(result.unplaced[0]!.parked).toBe(false);
  });

  describe('is symmetric', () => {
    /** A call state in which running workloads' terms are at play. */
    const symmetricOf = (running: RunningWorkload[]) => {
      const fleet = buildFleet(workers, new Map(), running);
      return { fleet, state: new CallState(fleet, 'spread', callTerms(fleet, []).terms) };
    };
    const db = (antiAffinity: RunningWorkload['antiAffinity']): RunningWorkload => ({
      workerId: 'a',
      labels: { app: 'db' },
      antiAffinity,
    });

    it('keeps a workload off the worker or zone of a running workload whose anti-affinity matches its labels', () => {
      const { fleet, state } = symmetricOf([db([{ labels: { app: 'web' }, topologyKey: 'zone' }])]);
      const web = job({ labels: { app: 'web', tier: 'front' } });
      const [check] = antiAffinityPolicy.filters!(web, fleet, state, []);
      expect(check!.reason).toBe(REPELLED_REASON);
      expect([check!.ok(0), check!.ok(1), check!.ok(2)]).toEqual([false, false, true]);
      const api = job({ labels: { app: 'api' } });
      // No term of the call matches its labels: no check at all.
      expect(antiAffinityPolicy.filters!(api, fleet, state, [])).toEqual([]);
    });

    it("lowers the score where a running workload's preferred anti-affinity matches", () => {
      const { fleet, state } = symmetricOf([
        db([{ labels: { app: 'web' }, topologyKey: 'worker', weight: 30 }]),
      ]);
      const web = job({ labels: { app: 'web' } });
      expect(antiAffinityPolicy.filters!(web, fleet, state, [])).toEqual([]);
      const scorer = antiAffinityPolicy.scorer!(web, fleet, state)!;
      expect([scorer.score(0), scorer.score(1), scorer.score(2)]).toEqual([-30, 0, 0]);
    });

    it('places no matching workload beside a running one whose anti-affinity refuses it', () => {
      const running = [db([{ labels: { app: 'web' }, topologyKey: 'worker' }])];
      const jobs = [1, 2, 3, 4, 5].map(() => job({ labels: { app: 'web' } }));
      const result = placeWorkloads(jobs, workers, new Map(), { running });
      expect(result.placements.map((p) => p.workerId)).not.toContain('a');
      expect(result.placements).toHaveLength(5);
      // Without the running workload's terms, `a` takes its share.
      const plain = placeWorkloads(jobs, workers, new Map(), {
        running: [{ workerId: 'a', labels: { app: 'db' } }],
      });
      expect(plain.placements.map((p) => p.workerId)).toContain('a');
    });

    it('counts the terms of workloads the same call placed', () => {
      const guard = job({
        priority: 900,
        labels: { app: 'db' },
        placement: { antiAffinity: [{ labels: { app: 'web' }, topologyKey: 'zone' }] },
      });
      const webs = [1, 2, 3].map(() => job({ labels: { app: 'web' } }));
      const one = [
        worker('a', { zone: 'z1', capacity: { slots: 8, cpu: 8, memoryMb: 8192, gpu: 0 } }),
      ];
      const result = placeWorkloads([guard, ...webs], one, new Map());
      expect(result.placements.map((p) => p.workloadId)).toEqual([guard.id]);
      expect(result.unplaced.map((u) => u.reason)).toEqual(
        webs.map(() => `${REPELLED_REASON} (1 of 1 live worker(s) that handle type "sleep")`),
      );
    });

    it('holds for the runs the ledger knows, when the workloads placed have no terms', () => {
      const ledger = new UsageLedger();
      ledger.reserve('db-1', 'a', {}, 1, { app: 'db' }, 500, [
        { labels: { app: 'web' }, topologyKey: 'worker' },
      ]);
      const webs = [1, 2, 3, 4].map(() => ({ ...job({ labels: { app: 'web' } }), attempt: 0 }));
      const result = ledger.placeAndReserve(webs, workers);
      expect(result.placements).toHaveLength(4);
      expect(result.placements.map((p) => p.workerId)).not.toContain('a');
      // Its run ended: the worker is open again.
      ledger.record({ id: 'db-1', status: 'COMPLETED', attempt: 1 });
      const later = ledger.placeAndReserve(
        [{ ...job({ labels: { app: 'web' } }), attempt: 0 }],
        [worker('a')],
      );
      expect(later.placements.map((p) => p.workerId)).toEqual(['a']);
    });
  });
});
