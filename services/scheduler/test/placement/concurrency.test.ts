import fc from 'fast-check';
import { ConcurrencyGate, keyOf } from '../../src/placement/concurrency.js';
import type { Keyed, KeyState } from '../../src/placement/concurrency.js';

const w = (n: number, over: Partial<Keyed> = {}): Keyed => ({
  id: `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`,
  tenant: 'acme',
  concurrency_key: 'k',
  concurrency_limit: 2,
  ordered: false,
  ...over,
});

describe('ConcurrencyGate', () => {
  it('lets through up to the limit, counting what is active', () => {
    const gate = new ConcurrencyGate(new Map([[keyOf('acme', 'k'), { active: 1 }]]));
    expect(gate.admit(w(1))).toBeNull();
    expect(gate.admit(w(2))).toBe('concurrency key "k" is at its limit 2');
  });

  it('keeps tenants and keys apart, and lets unkeyed work through', () => {
    const gate = new ConcurrencyGate(new Map([[keyOf('acme', 'k'), { active: 2 }]]));
    expect(gate.admit(w(1, { tenant: 'other' }))).toBeNull();
    expect(gate.admit(w(2, { concurrency_key: 'j' }))).toBeNull();
    expect(gate.admit(w(3, { concurrency_key: null, concurrency_limit: null }))).toBeNull();
  });

  it('starts only the oldest unfinished workload of an ordered key', () => {
    const states = new Map<string, KeyState>([
      [keyOf('acme', 'k'), { active: 0, oldestOpen: w(1).id }],
    ]);
    const gate = new ConcurrencyGate(states);
    const o = { ordered: true, concurrency_limit: 1 };
    expect(gate.admit(w(2, o))).toBe(`ordered concurrency key "k": waits for ${w(1).id} to end`);
    expect(gate.admit(w(1, o))).toBeNull();
    expect(gate.admit(w(1, o))).toBe('concurrency key "k" is at its limit 1');
  });

  it('never admits past the limit (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.constantFrom('a', 'b'), { maxLength: 30 }),
        (limit, active, keys) => {
          const gate = new ConcurrencyGate(new Map([[keyOf('acme', 'a'), { active }]]));
          const admitted = { a: 0, b: 0 };
          keys.forEach((k, i) => {
            if (gate.admit(w(i, { concurrency_key: k, concurrency_limit: limit })) === null)
              admitted[k as 'a' | 'b']++;
          });
          expect(admitted.a).toBeLessThanOrEqual(Math.max(0, limit - active));
          expect(admitted.b).toBeLessThanOrEqual(limit);
        },
      ),
    );
  });
});
