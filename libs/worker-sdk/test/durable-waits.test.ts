import {
  defineWorkload,
  runAttempt,
  STOP_REASONS,
  WaitMismatchError,
  WaitTimeoutError,
  WorkloadContextError,
} from '../src/index.js';
import type { ReplayedWait, WorkloadContext } from '../src/index.js';
import { recordingHost } from './fake-host.js';

const base = { workloadId: 'wl-1', attempt: 1, input: {} };

/** An approval flow: work, checkpoint, wait for `approve`, sleep, return. */
function approval(seen: string[]) {
  return defineWorkload({
    type: 'test.approval',
    input: { type: 'object' },
    run: async (ctx: WorkloadContext<{ step: string }>) => {
      seen.push(`start:${ctx.state?.step ?? 'none'}`);
      ctx.autoCheckpoint(() => ({ step: 'asked' }));
      const decision = await ctx.waitForSignal<{ ok: boolean }>('approve', { timeoutMs: 60_000 });
      seen.push(`approved:${String(decision.ok)}`);
      await ctx.sleep(1000);
      seen.push('slept');
      return { decision };
    },
  });
}

describe('durable waits in a run', () => {
  it('ends the attempt at the first wait, after the stop checkpoint, reporting it with its call order', async () => {
    const seen: string[] = [];
    const host = recordingHost();
    const outcome = await runAttempt(approval(seen), { ...base, host });
    expect(outcome).toEqual({
      outcome: 'waiting',
      wait: { seq: 0, kind: 'signal', signal: 'approve', timeoutMs: 60_000 },
    });
    expect(host.checkpoints).toEqual([{ step: 'asked' }]);
    expect(seen).toEqual(['start:none']);
  });

  it('answers waits that ended from their replayed outcomes, by call order, and waits at the next', async () => {
    const seen: string[] = [];
    const waits: ReplayedWait[] = [
      { seq: 0, kind: 'signal', signal: 'approve', payload: { ok: true } },
    ];
    const outcome = await runAttempt(approval(seen), {
      ...base,
      attempt: 2,
      state: { step: 'asked' },
      waits,
      host: recordingHost(),
    });
    expect(outcome).toEqual({
      outcome: 'waiting',
      wait: { seq: 1, kind: 'sleep', durationMs: 1000 },
    });
    expect(seen).toEqual(['start:asked', 'approved:true']);

    const done: string[] = [];
    const final = await runAttempt(approval(done), {
      ...base,
      attempt: 3,
      waits: [...waits, { seq: 1, kind: 'sleep' }],
      host: recordingHost(),
    });
    expect(final).toEqual({ outcome: 'succeeded', result: { decision: { ok: true } } });
    expect(done).toEqual(['start:none', 'approved:true', 'slept']);
  });

  it('throws WaitTimeoutError (not retryable) for a wait that timed out', async () => {
    let caught: unknown;
    const def = defineWorkload({
      type: 'test.timeout',
      input: { type: 'object' },
      run: async (ctx: WorkloadContext) => {
        try {
          await ctx.waitForSignal('approve', { timeoutMs: 10 });
        } catch (err) {
          caught = err;
          throw err;
        }
      },
    });
    const outcome = await runAttempt(def, {
      ...base,
      waits: [{ seq: 0, kind: 'signal', signal: 'approve', timedOut: true }],
      host: recordingHost(),
    });
    expect(caught).toBeInstanceOf(WaitTimeoutError);
    expect(caught).toMatchObject({ seq: 0, signal: 'approve', code: 'WAIT_TIMEOUT' });
    expect(outcome).toMatchObject({
      outcome: 'failed',
      error: { code: 'WAIT_TIMEOUT', retryable: false },
    });
  });

  it('fails with WaitMismatchError when a re-run calls a different wait at a recorded position', async () => {
    let caught: unknown;
    const def = defineWorkload({
      type: 'test.mismatch',
      input: { type: 'object' },
      run: async (ctx: WorkloadContext) => {
        await ctx.waitForSignal('other').catch((err: unknown) => {
          caught = err;
          throw err;
        });
      },
    });
    const outcome = await runAttempt(def, {
      ...base,
      waits: [{ seq: 0, kind: 'signal', signal: 'approve', payload: 1 }],
      host: recordingHost(),
    });
    expect(caught).toBeInstanceOf(WaitMismatchError);
    expect(outcome).toMatchObject({ outcome: 'failed', error: { code: 'WAIT_MISMATCH' } });
  });

  it('counts a sleep that needs no waiting (ms <= 0, a past time) as a call, so later waits keep their order', async () => {
    const def = defineWorkload({
      type: 'test.zero',
      input: { type: 'object' },
      run: async (ctx: WorkloadContext) => {
        await ctx.sleep(0);
        await ctx.sleepUntil(new Date(Date.now() - 1000));
        return ctx.waitForSignal('go');
      },
    });
    expect(await runAttempt(def, { ...base, host: recordingHost() })).toEqual({
      outcome: 'waiting',
      wait: { seq: 2, kind: 'signal', signal: 'go' },
    });
    const until = new Date(Date.now() + 60_000);
    const later = defineWorkload({
      type: 'test.until',
      input: { type: 'object' },
      run: (ctx: WorkloadContext) => ctx.sleepUntil(until),
    });
    expect(await runAttempt(later, { ...base, host: recordingHost() })).toEqual({
      outcome: 'waiting',
      wait: { seq: 0, kind: 'sleep', until: until.toISOString() },
    });
  });

  it('ends at the first of two waits started together; the second gets the next call order', async () => {
    const def = defineWorkload({
      type: 'test.together',
      input: { type: 'object' },
      run: async (ctx: WorkloadContext) =>
        Promise.all([ctx.waitForSignal('a'), ctx.waitForSignal('b')]),
    });
    expect(await runAttempt(def, { ...base, host: recordingHost() })).toEqual({
      outcome: 'waiting',
      wait: { seq: 0, kind: 'signal', signal: 'a' },
    });
    expect(
      await runAttempt(def, {
        ...base,
        waits: [{ seq: 0, kind: 'signal', signal: 'a', payload: 'A' }],
        host: recordingHost(),
      }),
    ).toEqual({ outcome: 'waiting', wait: { seq: 1, kind: 'signal', signal: 'b' } });
  });

  it('refuses bad arguments with a context error', async () => {
    const errors: unknown[] = [];
    const def = defineWorkload({
      type: 'test.bad',
      input: { type: 'object' },
      run: async (ctx: WorkloadContext) => {
        for (const call of [
          () => ctx.sleep(Number.NaN),
          () => ctx.sleepUntil('not a time'),
          () => ctx.waitForSignal('has space'),
          () => ctx.waitForSignal('ok', { timeoutMs: -1 }),
        ])
          await call().catch((err: unknown) => errors.push(err));
        return errors.length;
      },
    });
    expect(await runAttempt(def, { ...base, host: recordingHost() })).toEqual({
      outcome: 'succeeded',
      result: 4,
    });
    for (const err of errors) expect(err).toBeInstanceOf(WorkloadContextError);
  });

  it('lets a cancel that arrives with the wait decide the outcome', async () => {
    const controller = new AbortController();
    const def = defineWorkload({
      type: 'test.cancel',
      input: { type: 'object' },
      run: async (ctx: WorkloadContext) => {
        controller.abort(STOP_REASONS.cancel);
        await ctx.waitForSignal('approve');
      },
    });
    expect(
      await runAttempt(def, { ...base, signal: controller.signal, host: recordingHost() }),
    ).toEqual({ outcome: 'cancelled' });
  });
});
