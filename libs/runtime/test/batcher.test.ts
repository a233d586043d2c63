import { Batcher } from '@niyanta/runtime';

describe('Batcher', () => {
  it('batches items pushed while a batch is in flight, in order', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new Batcher<number>(
      async (items) => {
        batches.push(items);
        if (batches.length === 1) await gate;
      },
      { maxBatch: 3, onError: () => undefined },
    );
    b.push(1);
    await new Promise((r) => setImmediate(r));
    b.push(2, 3, 4, 5);
    release();
    await b.idle();
    expect(batches).toEqual([[1], [2, 3, 4], [5]]);
  });

  it('reports a failed batch and carries on', async () => {
    const failed: number[][] = [];
    const b = new Batcher<number>(
      async (items) => {
        if (items.includes(1)) throw new Error('boom');
      },
      {
        maxBatch: 1,
        onError: (_e, items) => {
          failed.push(items);
        },
      },
    );
    b.push(1, 2);
    await b.idle();
    expect(failed).toEqual([[1]]);
  });
});
