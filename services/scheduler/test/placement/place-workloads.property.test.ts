import fc from 'fast-check';
import { placeWorkloads } from '../../src/placement/place-workloads.js';
import type { PendingWorkload, PlacementWorker } from '../../src/placement/framework.js';
import { tolerates } from '../../src/placement/taints.js';

const ZONES = ['z1', 'z2', 'z3'];
const taint = fc.record({
  key: fc.constantFrom('gpu', 'team'),
  value: fc.constantFrom('a', 'b'),
  effect: fc.constantFrom('NoSchedule' as const, 'PreferNoSchedule' as const),
});
const workerArb = fc.record({
  zone: fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
  slots: fc.integer({ min: 1, max: 4 }),
  cpu: fc.integer({ min: 0, max: 8 }),
  gpu: fc.integer({ min: 0, max: 2 }),
  taints: fc.array(taint, { maxLength: 2 }),
  cost: fc.option(fc.double({ min: 0, max: 5, noNaN: true }), { nil: undefined }),
  spot: fc.boolean(),
  usedSlots: fc.integer({ min: 0, max: 4 }),
});
const jobArb = fc.record({
  priority: fc.constantFrom(100, 500, 900),
  cpu: fc.constantFrom(0, 0.5, 1, 3),
  gpu: fc.constantFrom(0, 0.25, 0.5, 1),
  app: fc.constantFrom('web', 'db'),
  tolerate: fc.option(fc.constantFrom('gpu', 'team'), { nil: undefined }),
  spread: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
  zone: fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
  strategy: fc.constantFrom('spread' as const, 'binpack' as const),
});

type Arb<A> = A extends fc.Arbitrary<infer T> ? T : never;
type Input = [Arb<typeof workerArb>[], Arb<typeof jobArb>[]];

function build([ws, js]: Input) {
  const workers: PlacementWorker[] = ws.map((w, i) => ({
    id: `w${i}`,
    capacity: { slots: w.slots, cpu: w.cpu, memoryMb: 1024, gpu: w.gpu },
    types: ['sleep'],
    zone: w.zone ?? null,
    taints: w.taints,
    costPerHour: w.cost ?? null,
    spot: w.spot,
  }));
  const usage = new Map(
    ws.map((w, i) => [
      `w${i}`,
      { slots: Math.min(w.usedSlots, w.slots), cpu: 0, memoryMb: 0, gpu: 0 },
    ]),
  );
  const jobs: PendingWorkload[] = js.map((j, i) => ({
    id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    type: 'sleep',
    priority: j.priority,
    requirements: { cpu: j.cpu, gpu: j.gpu },
    labels: { app: j.app },
    placement: {
      strategy: j.strategy,
      ...(j.tolerate ? { tolerations: [{ key: j.tolerate, operator: 'Exists' as const }] } : {}),
      ...(j.spread
        ? { spread: { topologyKey: 'zone' as const, maxSkew: j.spread, labels: { app: j.app } } }
        : {}),
      ...(j.zone ? { affinity: [{ key: 'zone', operator: 'In' as const, values: [j.zone] }] } : {}),
    },
  }));
  return { workers, usage, jobs };
}

const input = fc.tuple(
  fc.array(workerArb, { minLength: 1, maxLength: 8 }),
  fc.array(jobArb, { maxLength: 30 }),
);

describe('placeWorkloads (properties)', () => {
  it('never places over a worker capacity', () => {
    fc.assert(
      fc.property(input, (raw) => {
        const { workers, usage, jobs } = build(raw);
        const { placements } = placeWorkloads(jobs, workers, usage);
        const byId = new Map(jobs.map((j) => [j.id, j]));
        for (const w of workers) {
          const mine = placements
            .filter((p) => p.workerId === w.id)
            .map((p) => byId.get(p.workloadId)!);
          expect(usage.get(w.id)!.slots + mine.length).toBeLessThanOrEqual(w.capacity.slots);
          const cpu = mine.reduce((s, j) => s + (j.requirements.cpu ?? 0), 0);
          const gpu = mine.reduce((s, j) => s + (j.requirements.gpu ?? 0), 0);
          expect(cpu).toBeLessThanOrEqual(w.capacity.cpu);
          expect(gpu).toBeLessThanOrEqual(w.capacity.gpu);
        }
      }),
    );
  });

  it('never places on a NoSchedule taint the workload does not tolerate', () => {
    fc.assert(
      fc.property(input, (raw) => {
        const { workers, usage, jobs } = build(raw);
        const byId = new Map(jobs.map((j) => [j.id, j]));
        for (const p of placeWorkloads(jobs, workers, usage).placements) {
          const w = workers.find((x) => x.id === p.workerId)!;
          const tolerations = byId.get(p.workloadId)!.placement?.tolerations ?? [];
          for (const t of w.taints ?? [])
            if (t.effect === 'NoSchedule') expect(tolerates(tolerations, t)).toBe(true);
        }
      }),
    );
  });

  it('keeps the spread skew bound over the zones with an eligible worker', () => {
    fc.assert(
      fc.property(input, (raw) => {
        const { workers, usage, jobs } = build(raw);
        const byId = new Map(jobs.map((j) => [j.id, j]));
        const counts = new Map<string, Map<string, number>>(); // app -> zone -> count
        for (const p of placeWorkloads(jobs, workers, usage).placements) {
          const j = byId.get(p.workloadId)!;
          const spread = j.placement?.spread;
          const zone = workers.find((x) => x.id === p.workerId)!.zone;
          const app = j.labels!.app!;
          const perZone = counts.get(app) ?? new Map<string, number>();
          counts.set(app, perZone);
          // Every placed workload with the labels counts, spread or not.
          const count = () => {
            if (zone) perZone.set(zone, (perZone.get(zone) ?? 0) + 1);
          };
          if (!spread) {
            count();
            continue;
          }
          expect(zone).toBeTruthy();
          // The zones where a worker passes this workload's static filters.
          const eligible = new Set(
            workers
              .filter(
                (w) =>
                  w.zone &&
                  w.capacity.cpu >= (j.requirements.cpu ?? 0) &&
                  w.capacity.gpu >= (j.requirements.gpu ?? 0) &&
                  (w.taints ?? []).every(
                    (t) =>
                      t.effect !== 'NoSchedule' || tolerates(j.placement?.tolerations ?? [], t),
                  ) &&
                  (j.placement?.affinity ?? []).every((a) => a.values!.includes(w.zone!)),
              )
              .map((w) => w.zone!),
          );
          // Placing it here did not make its zone exceed the smallest eligible zone by more than maxSkew.
          const min = Math.min(...[...eligible].map((z) => perZone.get(z) ?? 0));
          expect((perZone.get(zone!) ?? 0) + 1 - min).toBeLessThanOrEqual(spread.maxSkew);
          count();
        }
      }),
    );
  });

  it('gives the same output for the same input', () => {
    fc.assert(
      fc.property(input, (raw) => {
        const a = build(raw);
        const b = build(raw);
        expect(placeWorkloads(a.jobs, a.workers, a.usage, { scores: true })).toEqual(
          placeWorkloads(b.jobs, b.workers, b.usage, { scores: true }),
        );
      }),
    );
  });

  it("never puts two workloads on one worker when either one's required anti-affinity matches the other", () => {
    const apps = ['web', 'db', 'cache'] as const;
    const repel = fc.record({
      app: fc.constantFrom(...apps),
      against: fc.option(fc.constantFrom(...apps), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(fc.nat(4), repel), { maxLength: 6 }),
        fc.array(repel, { maxLength: 20 }),
        (slots, runningSpecs, jobSpecs) => {
          const workers: PlacementWorker[] = slots.map((n, i) => ({
            id: `w${i}`,
            capacity: { slots: n + 1, cpu: 8, memoryMb: 1024, gpu: 0 },
            types: ['sleep'],
          }));
          const termsOf = (r: { against: string | undefined }) =>
            r.against === undefined
              ? undefined
              : [{ labels: { app: r.against }, topologyKey: 'worker' as const }];
          const running = runningSpecs.map(([w, r]) => ({
            workerId: `w${w % workers.length}`,
            labels: { app: r.app },
            antiAffinity: termsOf(r),
          }));
          const jobs: PendingWorkload[] = jobSpecs.map((r, i) => ({
            id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
            type: 'sleep',
            priority: 500,
            requirements: {},
            labels: { app: r.app },
            placement: termsOf(r) === undefined ? null : { antiAffinity: termsOf(r) },
          }));
          const usage = new Map(
            workers.map((w) => [
              w.id,
              {
                slots: running.filter((r) => r.workerId === w.id).length,
                cpu: 0,
                memoryMb: 0,
                gpu: 0,
              },
            ]),
          );
          const { placements } = placeWorkloads(jobs, workers, usage, { running });
          const byId = new Map(jobs.map((j) => [j.id, j]));
          const placed = placements.map((p) => ({
            workerId: p.workerId,
            labels: byId.get(p.workloadId)!.labels!,
            antiAffinity: byId.get(p.workloadId)!.placement?.antiAffinity,
          }));
          const repels = (a: (typeof placed)[number], b: (typeof placed)[number]) =>
            (a.antiAffinity ?? []).some((t) => t.labels.app === b.labels.app);
          for (const p of placed) {
            for (const other of [...running, ...placed]) {
              if (other === p || other.workerId !== p.workerId) continue;
              expect([repels(p, other), repels(other, p)]).toEqual([false, false]);
            }
          }
        },
      ),
    );
  });
});
