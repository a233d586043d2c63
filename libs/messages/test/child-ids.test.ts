import { MAX_CHILD_INDEX, childWorkloadId, uuidv7, validateMessage } from '../src/index.js';

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('childWorkloadId', () => {
  const parent = uuidv7();

  it('is a UUIDv7 with the parent timestamp, the same for the same parent and index', () => {
    for (const index of [0, 1, 4095, 4096, 1_048_575, 1_048_576, 123_456_789, MAX_CHILD_INDEX]) {
      const id = childWorkloadId(parent, index);
      expect(id).toMatch(UUIDV7);
      expect(id.replace(/-/g, '').slice(0, 12)).toBe(parent.replace(/-/g, '').slice(0, 12));
      expect(childWorkloadId(parent, index)).toBe(id);
      expect(childWorkloadId(parent.toUpperCase(), index)).toBe(id);
    }
    // A submission with it passes the id pattern the scheduler's ingest checks.
    const id = childWorkloadId(parent, 7);
    expect(validateMessage('submission', { schemaVersion: 1, id, type: 't', input: null })).toEqual(
      [],
    );
  });

  it('orders siblings by call index and tells children of different parents apart', () => {
    const ids = Array.from({ length: 3000 }, (_, i) => childWorkloadId(parent, i * 977));
    expect([...ids].sort()).toEqual(ids);
    const other = uuidv7();
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      seen.add(childWorkloadId(parent, i));
      seen.add(childWorkloadId(other, i));
    }
    expect(seen.size).toBe(20_000);
  });

  it('refuses what cannot name a child', () => {
    expect(() => childWorkloadId('not-a-uuid', 0)).toThrow(/not a UUID/);
    expect(() => childWorkloadId(parent, -1)).toThrow(RangeError);
    expect(() => childWorkloadId(parent, 1.5)).toThrow(RangeError);
    expect(() => childWorkloadId(parent, MAX_CHILD_INDEX + 1)).toThrow(RangeError);
  });
});
