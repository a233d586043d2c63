import fc from 'fast-check';
import { mayEvict, planPreemption } from '../../src/placement/preemption.js';
import type { ActiveRun, PreemptionWorker, Preemptor } from '../../src/placement/preemption.js';

const worker = (id: string, slots = 1, used = slots): PreemptionWorker => ({
  id,
  types: ['sleep'],
  capacity: { slots, cpu: 8, memoryMb: 8192, gpu: 0 },
  used: { slots: used, cpu: 0, memoryMb: 0, gpu: 0 },
});
const run = (
  id: string,
  workerId: string,
  priority: number,
  over: Partial<ActiveRun> = {},
): ActiveRun => ({
  id,
  tenant: 'a',
  priority,
  preemptible: true,
  workerId,
  requirements: {},
  ...over,
});
const urgent: Preemptor = { id: 'p', tenant: 'a', type: 'sleep', priority: 900, requirements: {} };

describe('mayEvict', () => {
  it('needs the gap, preemptible, and not the same tenant at equal priority', () => {
    expect(mayEvict(urgent, run('v', 'w', 800), 100)).toBe(true);
    expect(mayEvict(urgent, run('v', 'w', 801), 100)).toBe(false);
    expect(mayEvict(urgent, run('v', 'w', 100, { preemptible: false }), 100)).toBe(false);
    expect(mayEvict(urgent, run('v', 'w', 900), 0)).toBe(false);
    expect(mayEvict(urgent, run('v', 'w', 900, { tenant: 'b' }), 0)).toBe(true);
  });
});

describe('planPreemption', () => {
  it('stops the lowest-priority run on a full worker', () => {
    const runs = new Map([['w1', [run('hi', 'w1', 700), run('lo', 'w1', 100)]]]);
    const plan = planPreemption(urgent, [worker('w1', 2)], runs, 100);
    expect(plan).toEqual({ preemptorId: 'p', workerId: 'w1', victims: [runs.get('w1')![1]] });
  });

  it('prefers one victim over two lower ones', () => {
    const big = { ...urgent, requirements: { cpu: 4 } };
    const w: PreemptionWorker = {
      ...worker('w1', 3),
      used: { slots: 3, cpu: 8, memoryMb: 0, gpu: 0 },
    };
    const runs = new Map([
      [
        'w1',
        [
          run('a', 'w1', 100, { requirements: { cpu: 2 } }),
          run('b', 'w1', 100, { requirements: { cpu: 2 } }),
          run('c', 'w1', 300, { requirements: { cpu: 4 } }),
        ],
      ],
    ]);
    expect(planPreemption(big, [w], runs, 100)?.victims.map((v) => v.id)).toEqual(['c']);
  });

  it('finds nothing without eligible victims, on workers of other types, or for protected runs', () => {
    const runs = new Map([['w1', [run('v', 'w1', 100)]]]);
    expect(planPreemption(urgent, [worker('w1')], runs, 900)).toBeUndefined();
    expect(planPreemption({ ...urgent, type: 'exec' }, [worker('w1')], runs, 100)).toBeUndefined();
    expect(planPreemption(urgent, [worker('w1')], runs, 100, new Set(['v']))).toBeUndefined();
  });

  it('never chooses an ineligible victim and always makes room (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            priority: fc.integer({ min: 0, max: 1000 }),
            cpu: fc.integer({ min: 0, max: 4 }),
            preemptible: fc.boolean(),
            tenant: fc.constantFrom('a', 'b'),
          }),
          { maxLength: 8 },
        ),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 300 }),
        (specs, needCpu, gap) => {
          const runs = specs.map((s, i) =>
            run(`r${i}`, 'w1', s.priority, {
              tenant: s.tenant,
              preemptible: s.preemptible,
              requirements: { cpu: s.cpu },
            }),
          );
          const usedCpu = runs.reduce((n, r) => n + (r.requirements.cpu ?? 0), 0);
          const w: PreemptionWorker = {
            id: 'w1',
            types: ['sleep'],
            capacity: { slots: 8, cpu: Math.max(8, usedCpu), memoryMb: 1, gpu: 0 },
            used: { slots: runs.length, cpu: usedCpu, memoryMb: 0, gpu: 0 },
          };
          const p = { ...urgent, requirements: { cpu: needCpu } };
          const plan = planPreemption(p, [w], new Map([['w1', runs]]), gap);
          if (plan === undefined) return;
          for (const v of plan.victims) expect(mayEvict(p, v, gap)).toBe(true);
          const freedCpu = plan.victims.reduce((n, v) => n + (v.requirements.cpu ?? 0), 0);
          expect(w.capacity.cpu - usedCpu + freedCpu).toBeGreaterThanOrEqual(needCpu);
          expect(w.capacity.slots - runs.length + plan.victims.length).toBeGreaterThanOrEqual(1);
        },
      ),
    );
  });
});
