import fc from 'fast-check';
import { effectivePriority, PRIORITY_MAX } from '@niyanta/db';
import { byEffectivePriority } from '../../src/placement/aging.js';

const id = (n: number) => `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`;

describe('effectivePriority', () => {
  it('rises by one per interval waited', () => {
    expect(effectivePriority(100, 0, 59_999, 60_000)).toBe(100);
    expect(effectivePriority(100, 0, 60_000, 60_000)).toBe(101);
    expect(effectivePriority(100, 0, 10 * 60_000 + 1, 60_000)).toBe(110);
  });

  it('is off at 0 and before the workload is due', () => {
    expect(effectivePriority(100, 0, 1e9, 0)).toBe(100);
    expect(effectivePriority(100, 5_000, 1_000, 1)).toBe(100);
  });

  it('never passes 1000 and never falls (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 1e12 }),
        fc.integer({ min: 0, max: 1e12 }),
        fc.integer({ min: 0, max: 1e7 }),
        (p, due, now, aging) => {
          const e = effectivePriority(p, due, now, aging);
          expect(e).toBeGreaterThanOrEqual(p);
          expect(e).toBeLessThanOrEqual(PRIORITY_MAX);
          expect(Number.isInteger(e)).toBe(true);
          expect(effectivePriority(p, due, now + 1000, aging)).toBeGreaterThanOrEqual(e);
        },
      ),
    );
  });
});

describe('byEffectivePriority', () => {
  it('lets an old low-priority workload pass a newer higher one', () => {
    const now = 1_000 * 60_000;
    const fresh = { id: id(2), priority: 500, due_ms: now };
    const waited = (intervals: number) => ({
      id: id(1),
      priority: 100,
      due_ms: now - intervals * 60_000,
    });
    expect(byEffectivePriority([fresh, waited(399)], now, 60_000).map((r) => r.id)).toEqual([
      id(2),
      id(1),
    ]);
    expect(byEffectivePriority([fresh, waited(401)], now, 60_000).map((r) => r.id)).toEqual([
      id(1),
      id(2),
    ]);
  });

  it('is the queue order (priority desc, id) with aging off', () => {
    const rows = [
      { id: id(3), priority: 1, due_ms: 0 },
      { id: id(2), priority: 9, due_ms: 0 },
      { id: id(1), priority: 1, due_ms: 0 },
    ];
    expect(byEffectivePriority(rows, 1e12, 0).map((r) => r.id)).toEqual([id(2), id(1), id(3)]);
  });
});
