import { inIdOrder } from '../src/workload-core/statements/lock-order.js';

describe('inIdOrder', () => {
  it('orders by uuid as PostgreSQL does, whatever the case of the hex digits', () => {
    const ids = [
      '0190a0a0-0000-7000-8000-00000000000b',
      '0190A0A0-0000-7000-8000-00000000000A',
      '0190a0a0-0000-7000-8000-000000000009',
      'F190a0a0-0000-7000-8000-000000000000',
      '1190a0a0-0000-7000-8000-000000000000',
    ];
    // Bytewise, as uuid compares: ...09 < ...0a < ...0b < 1190... < f190...
    expect(inIdOrder(ids, (id) => id)).toEqual([ids[2], ids[1], ids[0], ids[4], ids[3]]);
  });

  it('keeps the items and leaves its input as it was', () => {
    const items = [{ id: 'b' }, { id: 'a' }];
    const sorted = inIdOrder(items, (i) => i.id);
    expect(sorted.map((i) => i.id)).toEqual(['a', 'b']);
    expect(sorted[0]).toBe(items[1]);
    expect(items.map((i) => i.id)).toEqual(['b', 'a']);
  });
});
