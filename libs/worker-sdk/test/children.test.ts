import { childWorkloadId, uuidv7 } from '@niyanta/messages';
import { ChildWorkloadError, defineWorkload, runAttempt } from '../src/index.js';
import type { ChildWorkload, KnownChild, SpawnedChild, WorkloadContext } from '../src/index.js';
import { recordingHost } from './fake-host.js';

/** A host that records spawns and answers waits for children from `ended`. */
function spawningHost(ended: KnownChild[] = []) {
  const spawned: SpawnedChild[][] = [];
  const waits: number[][] = [];
  return {
    ...recordingHost(),
    spawned,
    waits,
    spawn: async (children: SpawnedChild[]) => void spawned.push(children),
    waitForChildren: async (indices: readonly number[]) => {
      waits.push([...indices]);
      return ended.filter((k) => indices.includes(k.index));
    },
  };
}

const parentId = uuidv7();

/** A parent that spawns `n` children of type `leaf` (one, then the rest in one call) and gathers them. */
const fanOut = defineWorkload({
  type: 'test.fan-out',
  input: { type: 'integer' },
  run: async (ctx: WorkloadContext, n: number) => {
    const first = await ctx.spawn('leaf', { i: 0 }, { priority: 900 });
    const rest = await ctx.spawnMany(
      Array.from({ length: n - 1 }, (_, i) => ({ type: 'leaf', input: { i: i + 1 } })),
    );
    const children: ChildWorkload[] = [first, ...rest];
    return { ids: children.map((c) => c.id), results: await ctx.gather(children) };
  },
});

describe('ctx.spawn', () => {
  it('numbers children in call order with ids derived from the parent, and gathers them in one wait', async () => {
    const ended = Array.from({ length: 4 }, (_, i) => ({
      index: i,
      status: 'COMPLETED',
      result: i * 10,
    }));
    const host = spawningHost(ended);
    const out = await runAttempt(fanOut, { workloadId: parentId, attempt: 1, input: 4, host });
    expect(out).toEqual({
      outcome: 'succeeded',
      result: {
        ids: [0, 1, 2, 3].map((i) => childWorkloadId(parentId, i)),
        results: [0, 10, 20, 30],
      },
    });
    expect(host.spawned).toEqual([
      [{ index: 0, type: 'leaf', input: { i: 0 }, priority: 900 }],
      [1, 2, 3].map((i) => ({ index: i, type: 'leaf', input: { i } })),
    ]);
    // Four result() calls in one turn: one wait for all of them.
    expect(host.waits).toEqual([[0, 1, 2, 3]]);
  });

  it('replays a resumed run: known children are not spawned again and ended ones answer at once', async () => {
    const known: KnownChild[] = [
      { index: 0, status: 'COMPLETED', result: 'a' },
      { index: 1, status: 'COMPLETED', result: 'b' },
      { index: 2, status: 'RUNNING' },
    ];
    const host = spawningHost([
      { index: 2, status: 'COMPLETED', result: 'c' },
      { index: 3, status: 'COMPLETED' },
    ]);
    const out = await runAttempt(fanOut, {
      workloadId: parentId,
      attempt: 2,
      input: 4,
      host,
      children: known,
    });
    expect(out).toMatchObject({ outcome: 'succeeded', result: { results: ['a', 'b', 'c', null] } });
    // Only the child no earlier attempt had spawned goes out again.
    expect(host.spawned).toEqual([[{ index: 3, type: 'leaf', input: { i: 3 } }]]);
    // Only those not known to have ended are waited for (3 returned no result: null).
    expect(host.waits).toEqual([[2, 3]]);
  });

  it('rejects result() of a failed child with its error, and refuses bad spawns', async () => {
    const host = spawningHost();
    const seen: unknown[] = [];
    const def = defineWorkload({
      type: 'test.failing-child',
      input: {},
      run: async (ctx: WorkloadContext) => {
        const child = await ctx.spawn('leaf', null);
        await child.result().catch((err: unknown) => seen.push(err));
        await ctx.spawn('not a type!', null).catch((err: unknown) => seen.push(err));
        await ctx.spawnMany([]).catch((err: unknown) => seen.push(err));
        await ctx.spawn('leaf', { n: 1n }).catch((err: unknown) => seen.push(err));
      },
    });
    await runAttempt(def, {
      workloadId: parentId,
      attempt: 3,
      input: null,
      host,
      children: [
        { index: 0, status: 'FAILED', error: { message: 'boom', code: 'BOOM', retryable: false } },
      ],
    });
    expect(seen[0]).toBeInstanceOf(ChildWorkloadError);
    expect(seen[0]).toMatchObject({
      childId: childWorkloadId(parentId, 0),
      status: 'FAILED',
      error: { code: 'BOOM' },
    });
    expect(String(seen[1])).toMatch(/not a workload type name/);
    expect(String(seen[2])).toMatch(/non-empty array/);
    expect(String(seen[3])).toMatch(/JSON-serialisable/);
    // Nothing invalid was published; the first child was already known.
    expect(host.spawned).toEqual([]);
  });

  it('types a child by its definition', async () => {
    const leaf = defineWorkload({
      type: 'leaf',
      input: { type: 'object' },
      run: (_ctx, input: { n: number }) => ({ twice: input.n * 2 }),
    });
    const host = spawningHost([{ index: 0, status: 'COMPLETED', result: { twice: 4 } }]);
    const def = defineWorkload({
      type: 'test.typed',
      input: {},
      run: async (ctx: WorkloadContext) => {
        const child = await ctx.spawn(leaf, { n: 2 });
        const r: { twice: number } = await child.result();
        return r.twice;
      },
    });
    expect(await runAttempt(def, { workloadId: parentId, attempt: 1, input: null, host })).toEqual({
      outcome: 'succeeded',
      result: 4,
    });
    expect(host.spawned).toEqual([[{ index: 0, type: 'leaf', input: { n: 2 } }]]);
  });
});
