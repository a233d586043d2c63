import { checkBatchGraph, isWorkloadId } from '../src/dependency-graph.js';

const at = (i: number) => `/workloads/${i}`;
const ID = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

describe('checkBatchGraph', () => {
  it('orders a diamond listed dependents first so that every dependency comes before its dependents', () => {
    const g = checkBatchGraph(
      [
        { ref: 'd', dependsOn: ['b', 'c'] },
        { ref: 'b', dependsOn: ['a'] },
        { ref: 'c', dependsOn: ['a', ID] },
        { ref: 'a' },
      ],
      at,
    );
    expect(g.errors).toEqual([]);
    expect(g.order).toHaveLength(4);
    const pos = (i: number) => g.order.indexOf(i);
    expect(pos(3)).toBeLessThan(pos(1));
    expect(pos(3)).toBeLessThan(pos(2));
    expect(pos(1)).toBeLessThan(pos(0));
    expect(pos(2)).toBeLessThan(pos(0));
    expect([...g.refs]).toEqual([
      ['d', 0],
      ['b', 1],
      ['c', 2],
      ['a', 3],
    ]);
  });

  it('keeps items without refs or dependencies, in their order', () => {
    const g = checkBatchGraph([{}, { dependsOn: [ID] }, {}], at);
    expect(g).toMatchObject({ errors: [], order: [0, 1, 2] });
  });

  it('refuses a repeated ref, naming both', () => {
    const g = checkBatchGraph([{ ref: 'x' }, { ref: 'y' }, { ref: 'x' }], at);
    expect(g.errors).toEqual([
      expect.objectContaining({
        path: '/workloads/2/ref',
        message: expect.stringContaining('/workloads/0/ref'),
      }),
    ]);
  });

  it('refuses an entry that is neither a ref of the batch nor an id, by its index', () => {
    const g = checkBatchGraph([{ ref: 'a' }, { dependsOn: ['a', 'b'] }], at);
    expect(g.errors).toEqual([
      expect.objectContaining({
        path: '/workloads/1/dependsOn/1',
        message: expect.stringContaining('"b"'),
      }),
    ]);
  });

  it('refuses an item depending on itself', () => {
    const g = checkBatchGraph([{ ref: 'a', dependsOn: ['a'] }], at);
    expect(g.errors).toEqual([expect.objectContaining({ path: '/workloads/0/dependsOn/0' })]);
  });

  it('refuses a cycle, naming the refs on it and none off it', () => {
    const g = checkBatchGraph(
      [
        { ref: 'start' },
        { ref: 'p', dependsOn: ['start', 'r'] },
        { ref: 'q', dependsOn: ['p'] },
        { ref: 'r', dependsOn: ['q'] },
      ],
      at,
    );
    expect(g.errors).toHaveLength(1);
    const { message } = g.errors[0]!;
    expect(message).toMatch(/cycle/);
    for (const ref of ['"p"', '"q"', '"r"']) expect(message).toContain(ref);
    expect(message).not.toContain('"start"');
  });

  it('names an item without a ref by its pointer in a cycle', () => {
    const g = checkBatchGraph(
      [
        { ref: 'a', dependsOn: ['b'] },
        { ref: 'b', dependsOn: ['a'] },
      ],
      at,
    );
    expect(g.errors[0]!.message).toMatch(/"a" → "b" → "a"|"b" → "a" → "b"/);
  });

  it('handles a chain of 1,000 without running out of stack', () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({
      ref: `s${i}`,
      ...(i > 0 ? { dependsOn: [`s${i - 1}`] } : {}),
    }));
    const g = checkBatchGraph(items.reverse(), at);
    expect(g.errors).toEqual([]);
    expect(g.order[0]).toBe(999);
  });

  it('tells ids from refs', () => {
    expect(isWorkloadId(ID)).toBe(true);
    expect(isWorkloadId('a')).toBe(false);
  });
});
