// `bench.fanout`, the parent of the bench's `fanout` scenario: spawns `n` children of the
// built-in `noop` type (each returns its input, its call index) in one spawnMany, gathers them
// all (one durable wait: the parent holds no slot while they run), and returns how many results
// it got and their sum, so the bench can check every child's result came back. Loaded by the
// bench's workers through WORKLOAD_MODULES; a plain definition object, no SDK import.

export default {
  type: 'bench.fanout',
  input: {
    type: 'object',
    required: ['n'],
    properties: { n: { type: 'integer', minimum: 1 } },
  },
  async run(ctx, { n }) {
    const children = await ctx.spawnMany(
      Array.from({ length: n }, (_, i) => ({ type: 'noop', input: i })),
    );
    const results = await ctx.gather(children);
    return { count: results.length, sum: results.reduce((a, b) => a + b, 0) };
  },
};
