import { childWorkloadId, uuidv7 } from '@niyanta/messages';
import { ChildWorkloadError, WaitTimeoutError, defineWorkload, runAttempt } from '../src/index.js';
import type { ChildWorkload, KnownChild, SpawnedChild, WorkloadContext } from '../src/index.js';
import { recordingHost } from './fake-host.js';

/** A host that records what a run spawns. */
function spawningHost() {
  const spawned: SpawnedChild[][] = [];
  return {
    ...recordingHost(),
    spawned,
    spawn: async (children: SpawnedChild[]) => void spawned.push(children),
  };
}

const parentId = uuidv7();

/**
 * A parent that spawns `n` children of type `leaf` (one, then the rest in one call), gathers
 * them, then sleeps a second and returns the ids and results.
 */
const fanOut = defineWorkload({
  type: 'test.fan-out',
  input: { type: 'integer' },
  run: async (ctx: WorkloadContext, n: number) => {
    const first = await ctx.spawn('leaf', { i: 0 }, { priority: 900 });
    const rest = await ctx.spawnMany(
      Array.from({ length: n - 1 }, (_, i) => ({ type: 'leaf', input: { i: i + 1 } })),
    );
    const children: ChildWorkload[] = [first, ...rest];
    const results = await ctx.gather(children);
    await ctx.sleep(1000);
    return { ids: children.map((c) => c.id), results };
  },
});

const ended = (n: number): KnownChild[] =>
  Array.from({ length: n }, (_, i) => ({ index: i, status: 'COMPLETED', result: i * 10 }));

describe('ctx.spawn', () => {
  it('numbers children in call order and waits for them all in ONE durable wait', async () => {
    const host = spawningHost();
    const out = await runAttempt(fanOut, { workloadId: parentId, attempt: 1, input: 4, host });
    expect(out).toEqual({
      outcome: 'waiting',
      wait: { seq: 0, kind: 'children', spec: { ranges: [[0, 3]] } },
    });
    expect(host.spawned).toEqual([
      [{ index: 0, type: 'leaf', input: { i: 0 }, priority: 900 }],
      [1, 2, 3].map((i) => ({ index: i, type: 'leaf', input: { i } })),
    ]);
  });

  it('replays a resumed run: the same children, nothing spawned again, the waits in the same order', async () => {
    const host = spawningHost();
    const resumed = {
      workloadId: parentId,
      input: 4,
      host,
      children: ended(4),
      waits: [{ seq: 0, kind: 'children' as const }],
    };
    // The gather's wait (seq 0) is taken from the replay: the sleep is the run's call 1.
    expect(await runAttempt(fanOut, { ...resumed, attempt: 2 })).toEqual({
      outcome: 'waiting',
      wait: { seq: 1, kind: 'sleep', durationMs: 1000 },
    });
    expect(
      await runAttempt(fanOut, {
        ...resumed,
        attempt: 3,
        waits: [...resumed.waits, { seq: 1, kind: 'sleep' as const }],
      }),
    ).toEqual({
      outcome: 'succeeded',
      result: {
        ids: [0, 1, 2, 3].map((i) => childWorkloadId(parentId, i)),
        results: [0, 10, 20, 30],
      },
    });
    expect(host.spawned).toEqual([]);
  });

  it('gathers children that had already ended without waiting, and spawns only unknown ones', async () => {
    const host = spawningHost();
    // Children 0-2 ended before the first gather: no children wait was ever recorded.
    const out = await runAttempt(fanOut, {
      workloadId: parentId,
      attempt: 2,
      input: 4,
      host,
      children: [...ended(3)],
    });
    // Child 3 is new: spawned, then waited for alone.
    expect(host.spawned).toEqual([[{ index: 3, type: 'leaf', input: { i: 3 } }]]);
    expect(out).toEqual({
      outcome: 'waiting',
      wait: { seq: 0, kind: 'children', spec: { ranges: [[3, 3]] } },
    });
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
        await ctx
          .spawnMany([
            { type: 'leaf', input: null },
            { type: 'leaf', input: null, options: { priority: 5000 } },
          ])
          .catch((err: unknown) => seen.push(err));
      },
    });
    const out = await runAttempt(def, {
      workloadId: parentId,
      attempt: 3,
      input: null,
      host,
      children: [
        { index: 0, status: 'FAILED', error: { message: 'boom', code: 'BOOM', retryable: false } },
      ],
    });
    expect(out).toEqual({ outcome: 'succeeded', result: null });
    expect(seen[0]).toBeInstanceOf(ChildWorkloadError);
    expect(seen[0]).toMatchObject({
      childId: childWorkloadId(parentId, 0),
      status: 'FAILED',
      error: { code: 'BOOM' },
    });
    expect(String(seen[1])).toMatch(/not a workload type name/);
    expect(String(seen[2])).toMatch(/non-empty array/);
    expect(String(seen[3])).toMatch(/JSON-serialisable/);
    expect(String(seen[4])).toMatch(/spawn item 1: options\.priority must be <= 1000/);
    // Nothing invalid was published; the first child was already known.
    expect(host.spawned).toEqual([]);
  });

  it('rejects result() of a child the ended wait named but whose record is gone (CHILD_GONE)', async () => {
    const host = spawningHost();
    const seen: unknown[] = [];
    const def = defineWorkload({
      type: 'test.gone-child',
      input: {},
      run: async (ctx: WorkloadContext) => {
        const children = await ctx.spawnMany([
          { type: 'leaf', input: 0 },
          { type: 'leaf', input: 1 },
        ]);
        await Promise.all(children.map((c) => c.result().catch((err: unknown) => seen.push(err))));
      },
    });
    const out = await runAttempt(def, {
      workloadId: parentId,
      attempt: 2,
      input: null,
      host,
      // The gather's wait ended, but child 1 has no row left to read.
      children: ended(1),
      waits: [{ seq: 0, kind: 'children' as const }],
    });
    expect(out).toEqual({ outcome: 'succeeded', result: null });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(ChildWorkloadError);
    expect(seen[0]).toMatchObject({
      childId: childWorkloadId(parentId, 1),
      status: 'FAILED',
      error: { code: 'CHILD_GONE' },
    });
  });

  it('gathers with a timeout: the wait carries it, and a wait ended by it throws WaitTimeoutError', async () => {
    const host = spawningHost();
    const def = defineWorkload({
      type: 'test.gather-timeout',
      input: {},
      run: async (ctx: WorkloadContext) => {
        const children = await ctx.spawnMany([
          { type: 'leaf', input: 0 },
          { type: 'leaf', input: 1 },
        ]);
        try {
          return { results: await ctx.gather(children, { timeoutMs: 5000 }) };
        } catch (err) {
          return { timedOut: err instanceof WaitTimeoutError, seq: (err as WaitTimeoutError).seq };
        }
      },
    });
    const run = (attempt: number, extra: object = {}) =>
      runAttempt(def, { workloadId: parentId, attempt, input: null, host, ...extra });
    expect(await run(1)).toEqual({
      outcome: 'waiting',
      wait: { seq: 0, kind: 'children', spec: { ranges: [[0, 1]] }, timeoutMs: 5000 },
    });
    // Resumed after the timeout, child 1 still running: the gather throws.
    expect(
      await run(2, {
        children: [...ended(1), { index: 1, status: 'RUNNING' }],
        waits: [{ seq: 0, kind: 'children' as const, timedOut: true }],
      }),
    ).toEqual({ outcome: 'succeeded', result: { timedOut: true, seq: 0 } });
    // Resumed after the timeout, but both had ended by then: their results.
    expect(
      await run(3, {
        children: ended(2),
        waits: [{ seq: 0, kind: 'children' as const, timedOut: true }],
      }),
    ).toEqual({ outcome: 'succeeded', result: { results: [0, 10] } });
    // A bad timeout is refused where it is given.
    const bad = defineWorkload({
      type: 'test.gather-bad-timeout',
      input: {},
      run: async (ctx: WorkloadContext) => {
        const child = await ctx.spawn('leaf', null);
        return child.result({ timeoutMs: -1 }).catch((err: unknown) => String(err));
      },
    });
    const out = await runAttempt(bad, { workloadId: parentId, attempt: 1, input: null, host });
    expect(out).toMatchObject({
      outcome: 'succeeded',
      result: expect.stringMatching(/timeoutMs must be an integer/),
    });
  });

  it('keeps results without a timeout apart from those with one: two waits of one turn', async () => {
    const host = spawningHost();
    const def = defineWorkload({
      type: 'test.gather-mixed',
      input: {},
      run: async (ctx: WorkloadContext) => {
        const [a, b] = await ctx.spawnMany([
          { type: 'leaf', input: 0 },
          { type: 'leaf', input: 1 },
        ]);
        // Both in one turn: a wait per timeout, in the order of their first calls.
        const results = [a!.result({ timeoutMs: 1000 }).catch((err: unknown) => err), b!.result()];
        return { a: await results[0], b: await results[1] };
      },
    });
    const run = (attempt: number, extra: object = {}) =>
      runAttempt(def, { workloadId: parentId, attempt, input: null, host, ...extra });
    expect(await run(1)).toEqual({
      outcome: 'waiting',
      wait: { seq: 0, kind: 'children', spec: { ranges: [[0, 0]] }, timeoutMs: 1000 },
    });
    // a's wait timed out; b's wait (no timeout) is the run's next one.
    const resumed = await run(2, {
      children: [
        { index: 0, status: 'RUNNING' },
        { index: 1, status: 'RUNNING' },
      ],
      waits: [{ seq: 0, kind: 'children' as const, timedOut: true }],
    });
    expect(resumed).toEqual({
      outcome: 'waiting',
      wait: { seq: 1, kind: 'children', spec: { ranges: [[1, 1]] } },
    });
  });

  it('types a child by its definition', async () => {
    const leaf = defineWorkload({
      type: 'leaf',
      input: { type: 'object' },
      run: (_ctx, input: { n: number }) => ({ twice: input.n * 2 }),
    });
    const host = spawningHost();
    const def = defineWorkload({
      type: 'test.typed',
      input: {},
      run: async (ctx: WorkloadContext) => {
        const child = await ctx.spawn(leaf, { n: 2 });
        const r: { twice: number } = await child.result();
        return r.twice;
      },
    });
    const out = await runAttempt(def, {
      workloadId: parentId,
      attempt: 1,
      input: null,
      host,
      children: [{ index: 0, status: 'COMPLETED', result: { twice: 4 } }],
    });
    expect(out).toEqual({ outcome: 'succeeded', result: 4 });
    expect(host.spawned).toEqual([]);
  });
});
