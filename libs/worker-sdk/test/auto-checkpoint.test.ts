import { defineWorkload, runAttempt, STOP_REASONS } from '../src/index.js';
import type { AttemptHost, WorkloadContext, WorkloadDefinition } from '../src/index.js';
import { recordingHost } from './fake-host.js';

const base = { workloadId: 'wl-auto', attempt: 1, input: {} };

/** A definition whose state is a counter the handler bumps; `snapshot` reads it. */
function counting(opts: { intervalMs?: number; until: (ctx: WorkloadContext) => Promise<void> }) {
  const state = { n: 0 };
  const def = defineWorkload({
    type: 'test.counting',
    input: { type: 'object' },
    snapshot: () => ({ n: state.n }),
    ...(opts.intervalMs === undefined ? {} : { checkpointIntervalMs: opts.intervalMs }),
    run: async (ctx: WorkloadContext) => {
      state.n = 1;
      await opts.until(ctx);
      return { n: state.n };
    },
  });
  return { def, state };
}

/** Resolves when the signal aborts, then throws like a handler that honours it. */
const untilAborted = (ctx: WorkloadContext) =>
  new Promise<void>((_resolve, reject) =>
    ctx.signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true }),
  );

/** A host whose checkpoint calls resolve a promise once `count` of them were made. */
function countingHost(count: number) {
  const host = recordingHost();
  let reached!: () => void;
  const enough = new Promise<void>((resolve) => (reached = resolve));
  const checkpoint: AttemptHost['checkpoint'] = async (state) => {
    await host.checkpoint(state);
    if (host.checkpoints.length >= count) reached();
  };
  return { host: { ...host, checkpoint }, recorded: host, enough };
}

describe('automatic checkpoints', () => {
  it('checkpoints snapshot() every checkpointIntervalMs while the handler runs, and stops after', async () => {
    const { host, recorded, enough } = countingHost(3);
    const { def, state } = counting({
      intervalMs: 10,
      until: async () => {
        await enough;
        state.n = 2;
      },
    });
    const outcome = await runAttempt(def, { ...base, host });
    expect(outcome).toEqual({ outcome: 'succeeded', result: { n: 2 } });
    expect(recorded.checkpoints.length).toBeGreaterThanOrEqual(3);
    expect(recorded.checkpoints.slice(0, 3)).toEqual([{ n: 1 }, { n: 1 }, { n: 1 }]);
    // No tick after the run ended: a later state (n: 2) is never checkpointed.
    const after = recorded.checkpoints.length;
    await new Promise((resolve) => setImmediate(resolve));
    expect(recorded.checkpoints).toHaveLength(after);
    expect(recorded.checkpoints).not.toContainEqual({ n: 2 });
  });

  it('takes no automatic checkpoints without an interval', async () => {
    const host = recordingHost();
    const { def } = counting({ until: async () => undefined });
    await runAttempt(def, { ...base, host });
    expect(host.checkpoints).toEqual([]);
  });

  it.each([STOP_REASONS.pause, STOP_REASONS.drain])(
    'checkpoints the snapshot once more when stopped for %s, before the outcome',
    async (reason) => {
      const host = recordingHost();
      const controller = new AbortController();
      const { def, state } = counting({
        intervalMs: 60_000,
        until: async (ctx) => {
          state.n = 7;
          queueMicrotask(() => controller.abort(reason));
          await untilAborted(ctx);
        },
      });
      const outcome = await runAttempt(def, { ...base, host, signal: controller.signal });
      expect(outcome).toEqual({ outcome: 'paused' });
      expect(host.checkpoints).toEqual([{ n: 7 }]);
    },
  );

  it('takes no stop checkpoint on cancel or timeout', async () => {
    const host = recordingHost();
    const controller = new AbortController();
    const { def } = counting({
      until: async (ctx) => {
        queueMicrotask(() => controller.abort(STOP_REASONS.cancel));
        await untilAborted(ctx);
      },
    });
    expect(await runAttempt(def, { ...base, host, signal: controller.signal })).toEqual({
      outcome: 'cancelled',
    });
    const timedOut = await runAttempt(counting({ until: untilAborted }).def, {
      ...base,
      host,
      timeoutMs: 5,
    });
    expect(timedOut).toMatchObject({ outcome: 'failed', error: { code: 'TIMEOUT' } });
    expect(host.checkpoints).toEqual([]);
  });

  it('bounds the stop checkpoint by a timeout and still returns the outcome', async () => {
    const recorded = recordingHost();
    const host: AttemptHost = { ...recorded, checkpoint: () => new Promise<void>(() => {}) };
    const controller = new AbortController();
    const { def } = counting({
      until: async (ctx) => {
        queueMicrotask(() => controller.abort(STOP_REASONS.pause));
        await untilAborted(ctx);
      },
    });
    const outcome = await runAttempt(def, {
      ...base,
      host,
      signal: controller.signal,
      stopCheckpointTimeoutMs: 20,
    });
    expect(outcome).toEqual({ outcome: 'paused' });
    expect(recorded.lines).toContainEqual({
      stream: 'warn',
      line: 'stop checkpoint did not finish within 20 ms; stopping without it',
    });
  });

  it('logs a failing snapshot or checkpoint and lets the run go on', async () => {
    const { host, recorded, enough } = countingHost(1);
    let calls = 0;
    const def = defineWorkload({
      type: 'test.flaky-snapshot',
      input: { type: 'object' },
      checkpointIntervalMs: 5,
      snapshot: () => {
        calls++;
        if (calls === 1) throw new Error('not ready yet');
        return { calls };
      },
      run: async () => {
        await enough;
        return 'done';
      },
    });
    const outcome = await runAttempt(def, { ...base, host });
    expect(outcome).toEqual({ outcome: 'succeeded', result: 'done' });
    expect(recorded.lines).toContainEqual({
      stream: 'warn',
      line: 'automatic checkpoint failed: not ready yet',
    });
    expect(recorded.checkpoints[0]).toEqual({ calls: 2 });
  });
});

describe('per-run automatic checkpoints', () => {
  /** Two runs of `def` at once on one host each, both stopped for pause once both are running. */
  async function twoPausedRuns(def: WorkloadDefinition<unknown, { n: number }>) {
    const hosts = [recordingHost(), recordingHost()];
    const controllers = [new AbortController(), new AbortController()];
    const outcomes = Promise.all(
      hosts.map((host, i) =>
        runAttempt(def as WorkloadDefinition, {
          workloadId: `wl-${i}`,
          attempt: 1,
          input: { n: (i + 1) * 10 },
          host,
          signal: controllers[i]!.signal,
        }),
      ),
    );
    return { hosts, controllers, outcomes };
  }

  it('checkpoints each run its own state registered with ctx.autoCheckpoint when two runs of one type stop', async () => {
    let running = 0;
    let bothRunning!: () => void;
    const both = new Promise<void>((resolve) => (bothRunning = resolve));
    const def = defineWorkload<{ n: number }, { n: number }>({
      type: 'test.own-state',
      input: { type: 'object' },
      run: async (ctx, input) => {
        const state = { n: input.n };
        ctx.autoCheckpoint(() => state);
        state.n += 1; // the snapshot reads the run's live state
        if (++running === 2) bothRunning();
        await untilAborted(ctx);
      },
    });
    const { hosts, controllers, outcomes } = await twoPausedRuns(def);
    await both;
    for (const c of controllers) c.abort(STOP_REASONS.pause);
    expect(await outcomes).toEqual([{ outcome: 'paused' }, { outcome: 'paused' }]);
    expect(hosts[0]!.checkpoints).toEqual([{ n: 11 }]);
    expect(hosts[1]!.checkpoints).toEqual([{ n: 21 }]);
  });

  it("calls the definition's snapshot with the run's context, so runs of one type keep their state apart", async () => {
    const states = new Map<string, { n: number }>();
    let ticks = 0;
    let enough!: () => void;
    const ticked = new Promise<void>((resolve) => (enough = resolve));
    const def = defineWorkload<{ n: number }, { n: number }>({
      type: 'test.keyed-state',
      input: { type: 'object' },
      checkpointIntervalMs: 5,
      snapshot: (ctx) => {
        if (++ticks === 4) enough();
        return states.get(ctx.workloadId)!;
      },
      run: async (ctx, input) => {
        states.set(ctx.workloadId, { n: input.n });
        await untilAborted(ctx);
      },
    });
    const { hosts, controllers, outcomes } = await twoPausedRuns(def);
    await ticked;
    for (const c of controllers) c.abort(STOP_REASONS.cancel);
    await outcomes;
    for (const [i, host] of hosts.entries()) {
      expect(host.checkpoints.length).toBeGreaterThan(0);
      expect(new Set(host.checkpoints.map((c) => JSON.stringify(c)))).toEqual(
        new Set([JSON.stringify({ n: (i + 1) * 10 })]),
      );
    }
  });

  it('takes ctx.autoCheckpoint snapshots on the given interval, replacing the definition snapshot', async () => {
    const { host, recorded, enough } = countingHost(2);
    const def = defineWorkload({
      type: 'test.own-interval',
      input: { type: 'object' },
      snapshot: () => ({ from: 'definition' }),
      run: async (ctx: WorkloadContext) => {
        ctx.autoCheckpoint(() => ({ from: 'run' }), { intervalMs: 5 });
        await enough;
        return 'done';
      },
    });
    expect(await runAttempt(def, { ...base, host })).toEqual({
      outcome: 'succeeded',
      result: 'done',
    });
    expect(recorded.checkpoints.slice(0, 2)).toEqual([{ from: 'run' }, { from: 'run' }]);
  });

  it('refuses a bad autoCheckpoint interval, saying what it got', async () => {
    const def = defineWorkload({
      type: 'test.bad-interval',
      input: { type: 'object' },
      run: (ctx: WorkloadContext) => ctx.autoCheckpoint(() => 1, { intervalMs: 0 }),
    });
    expect(await runAttempt(def, { ...base, host: recordingHost() })).toMatchObject({
      outcome: 'failed',
      error: { message: expect.stringMatching(/intervalMs .* got 0/) },
    });
  });
});
