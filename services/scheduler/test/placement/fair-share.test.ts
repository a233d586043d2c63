import fc from 'fast-check';
import {
  dominantShare,
  fairOrder,
  fleetCapacity,
  NO_SHARE,
} from '../../src/placement/fair-share.js';
import type { ShareVector } from '../../src/placement/fair-share.js';

interface Item {
  id: string;
  tenant: string;
  requirements: { cpu?: number; memoryMb?: number; gpu?: number };
}

const cap: ShareVector = { slots: 20, cpu: 40, memoryMb: 65_536, gpu: 0 };
const items = (tenant: string, n: number, req: Item['requirements'] = {}): Item[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${tenant}-${i}`, tenant, requirements: req }));

describe('dominantShare', () => {
  it('is the largest fraction of any offered resource, divided by the weight', () => {
    const usage = { slots: 2, cpu: 20, memoryMb: 1024, gpu: 0 };
    expect(dominantShare(usage, cap, 1)).toBeCloseTo(0.5);
    expect(dominantShare(usage, cap, 2)).toBeCloseTo(0.25);
  });

  it('ignores a resource the fleet does not offer', () => {
    expect(dominantShare({ ...NO_SHARE, gpu: 3 }, cap, 1)).toBe(0);
  });

  it('sums the capacity of workers with a slot', () => {
    const w = (slots: number) => ({ capacity: { slots, cpu: 2, memoryMb: 10, gpu: 1 } });
    expect(fleetCapacity([w(10), w(10), w(0)])).toEqual({
      slots: 20,
      cpu: 4,
      memoryMb: 20,
      gpu: 2,
    });
  });
});

describe('fairOrder', () => {
  it('gives a tenant with nothing running the first place, however long the other queue', () => {
    const heads = new Map([
      ['a', items('a', 1000)],
      ['b', items('b', 1)],
    ]);
    const usage = new Map([['a', { ...NO_SHARE, slots: 20 }]]);
    const order = fairOrder(heads, usage, new Map(), cap);
    expect(order[0]!.tenant).toBe('b');
  });

  it('alternates between equal tenants starting even', () => {
    const heads = new Map([
      ['a', items('a', 10)],
      ['b', items('b', 10)],
    ]);
    const first = fairOrder(heads, new Map(), new Map(), cap).slice(0, 20);
    expect(first.filter((w) => w.tenant === 'a')).toHaveLength(10);
    for (let i = 0; i < 20; i += 2) expect(first[i]!.tenant).not.toBe(first[i + 1]!.tenant);
  });

  it('gives a tenant of weight 2 twice the slots', () => {
    const heads = new Map([
      ['a', items('a', 30)],
      ['b', items('b', 30)],
    ]);
    const first = fairOrder(heads, new Map(), new Map([['b', 2]]), cap).slice(0, 18);
    expect(first.filter((w) => w.tenant === 'b')).toHaveLength(12);
  });

  it('weighs the dominant resource: a cpu-heavy tenant gets fewer runs', () => {
    const heads = new Map([
      ['cpu', items('cpu', 20, { cpu: 4 })],
      ['light', items('light', 20, { cpu: 0.5 })],
    ]);
    const first = fairOrder(heads, new Map(), new Map(), cap).slice(0, 10);
    expect(first.filter((w) => w.tenant === 'light').length).toBeGreaterThan(5);
  });

  it('keeps every workload and each tenant its own order (property)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('a', 'b', 'c', 'd'),
          fc.tuple(
            fc.integer({ min: 0, max: 30 }),
            fc.integer({ min: 0, max: 8 }),
            fc.integer({ min: 1, max: 5 }),
          ),
        ),
        (spec) => {
          const heads = new Map<string, Item[]>();
          const usage = new Map<string, ShareVector>();
          const weights = new Map<string, number>();
          for (const [t, [n, running, weight]] of Object.entries(spec)) {
            heads.set(t, items(t, n, { cpu: 1 }));
            usage.set(t, { ...NO_SHARE, slots: running, cpu: running });
            weights.set(t, weight);
          }
          const order = fairOrder(heads, usage, weights, cap);
          expect(order.length).toBe([...heads.values()].reduce((s, h) => s + h.length, 0));
          for (const [t, h] of heads) expect(order.filter((w) => w.tenant === t)).toEqual(h);
          // Same input, same output.
          expect(fairOrder(heads, usage, weights, cap)).toEqual(order);
        },
      ),
    );
  });

  it('never lets a tenant more than one run past its fair slots while others wait (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 5 }),
        fc.integer({ min: 1, max: 40 }),
        (weights, k) => {
          const heads = new Map<string, Item[]>();
          const w = new Map<string, number>();
          weights.forEach((wt, i) => {
            heads.set(`t${i}`, items(`t${i}`, 100));
            w.set(`t${i}`, wt);
          });
          const order = fairOrder(heads, new Map(), w, { ...cap, slots: 1000 }).slice(0, k);
          const shares = weights.map(
            (wt, i) => order.filter((x) => x.tenant === `t${i}`).length / wt,
          );
          // DRF: after any prefix, weighted counts differ by at most one run of the heaviest weight.
          expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1 + 1e-9);
        },
      ),
    );
  });
});
