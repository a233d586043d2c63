import { Ajv2020 } from 'ajv/dist/2020.js';
import { defineWorkload, runAttempt, STOP_REASONS, WorkloadError } from '../src/index.js';
import type { WorkloadContext } from '../src/index.js';
import { recordingHost } from './fake-host.js';

const base = { workloadId: 'wl-1', attempt: 1 };

const echo = defineWorkload({
  type: 'test.echo',
  input: {
    type: 'object',
    properties: {
      durationMs: { type: 'integer', minimum: 0 },
      email: { type: 'string', format: 'email' },
    },
    required: ['durationMs'],
    additionalProperties: false,
  },
  run: (_ctx, input: { durationMs: number }) => ({ got: input }),
});

/** A handler that waits for its signal, then either throws or returns (ignoring it). */
function waiting(onAbort: 'throw' | 'return') {
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const def = defineWorkload({
    type: 'test.waiting',
    input: { type: 'object' },
    run: (ctx: WorkloadContext) =>
      new Promise((resolve, reject) => {
        started();
        ctx.signal.addEventListener('abort', () =>
          onAbort === 'throw'
            ? reject(new Error(`stopped: ${String(ctx.signal.reason)}`))
            : resolve({ finished: true }),
        );
      }),
  });
  return { def, running };
}

describe('runAttempt', () => {
  it('succeeds with the handler result', async () => {
    const outcome = await runAttempt(echo, {
      ...base,
      input: { durationMs: 5 },
      host: recordingHost(),
    });
    expect(outcome).toEqual({ outcome: 'succeeded', result: { got: { durationMs: 5 } } });
  });

  it('fails with INVALID_INPUT naming every failing path, without running the handler', async () => {
    const run = jest.fn();
    const def = defineWorkload({ ...echo, type: 'test.never', run });
    const outcome = await runAttempt(def, {
      ...base,
      input: { durationMs: 1.5, email: 'nope', extra: true },
      host: recordingHost(),
    });
    expect(run).not.toHaveBeenCalled();
    expect(outcome.outcome).toBe('failed');
    if (outcome.outcome !== 'failed') return;
    expect(outcome.error.code).toBe('INVALID_INPUT');
    expect(outcome.error.retryable).toBe(false);
    expect(outcome.error.message).toContain('/durationMs must be integer');
    expect(outcome.error.message).toContain('/email must match format "email"');
    expect(outcome.error.message).toContain('/extra is not allowed');
    expect(outcome.error.details).toEqual(
      expect.arrayContaining([
        { path: '/durationMs', message: 'must be integer' },
        { path: '/extra', message: 'is not allowed' },
      ]),
    );
  });

  it('names a missing required property by its path', async () => {
    const outcome = await runAttempt(echo, { ...base, input: {}, host: recordingHost() });
    expect(outcome).toMatchObject({
      outcome: 'failed',
      error: { code: 'INVALID_INPUT', details: [{ path: '/durationMs', message: 'is required' }] },
    });
  });

  it('compiles the input schema once per definition', async () => {
    const compile = jest.spyOn(Ajv2020.prototype, 'compile');
    try {
      const def = defineWorkload({ type: 'test.once', input: { type: 'object' }, run: () => 1 });
      for (let i = 0; i < 3; i++)
        await runAttempt(def, { ...base, input: {}, host: recordingHost() });
      expect(compile).toHaveBeenCalledTimes(1);
    } finally {
      compile.mockRestore();
    }
  });

  it('maps a WorkloadError to its code and retryable flag', async () => {
    const def = defineWorkload({
      type: 'test.fail',
      input: { type: 'object' },
      run: () => {
        throw new WorkloadError('disk full', {
          code: 'DISK_FULL',
          retryable: false,
          details: { free: 0 },
        });
      },
    });
    const outcome = await runAttempt(def, { ...base, input: {}, host: recordingHost() });
    expect(outcome).toEqual({
      outcome: 'failed',
      error: { message: 'disk full', code: 'DISK_FULL', retryable: false, details: { free: 0 } },
    });
  });

  it('maps any other thrown error to a retryable HANDLER_ERROR', async () => {
    const def = defineWorkload({
      type: 'test.throw',
      input: { type: 'object' },
      run: async () => {
        throw new TypeError('x is undefined');
      },
    });
    const outcome = await runAttempt(def, { ...base, input: {}, host: recordingHost() });
    expect(outcome).toEqual({
      outcome: 'failed',
      error: { message: 'x is undefined', code: 'HANDLER_ERROR', retryable: true },
    });
  });

  it('fails with INVALID_RESULT when the result is not JSON-serialisable', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const def = defineWorkload({
      type: 'test.circular',
      input: { type: 'object' },
      run: () => circular,
    });
    const outcome = await runAttempt(def, { ...base, input: {}, host: recordingHost() });
    expect(outcome).toMatchObject({
      outcome: 'failed',
      error: { code: 'INVALID_RESULT', retryable: false },
    });
    const bigint = defineWorkload({
      type: 'test.bigint',
      input: { type: 'object' },
      run: () => ({ n: 1n }),
    });
    expect(await runAttempt(bigint, { ...base, input: {}, host: recordingHost() })).toMatchObject({
      outcome: 'failed',
      error: { code: 'INVALID_RESULT' },
    });
  });

  it('records a handler without a return value as a null result', async () => {
    const def = defineWorkload({
      type: 'test.void',
      input: { type: 'object' },
      run: () => undefined,
    });
    expect(await runAttempt(def, { ...base, input: {}, host: recordingHost() })).toEqual({
      outcome: 'succeeded',
      result: null,
    });
  });

  it('times out: aborts the signal with "timeout" and fails retryably', async () => {
    const { def } = waiting('throw');
    const outcome = await runAttempt(def, {
      ...base,
      input: {},
      timeoutMs: 20,
      host: recordingHost(),
    });
    expect(outcome).toEqual({
      outcome: 'failed',
      error: { message: 'timed out after 20 ms', code: 'TIMEOUT', retryable: true },
    });
  });

  it.each([
    [STOP_REASONS.cancel, 'throw', { outcome: 'cancelled' }],
    [STOP_REASONS.pause, 'throw', { outcome: 'paused' }],
    [STOP_REASONS.drain, 'throw', { outcome: 'paused' }],
    [STOP_REASONS.cancel, 'return', { outcome: 'cancelled' }],
    [STOP_REASONS.pause, 'return', { outcome: 'paused' }],
  ] as const)('maps an external %s (handler %ss) to %j', async (reason, onAbort, expected) => {
    const { def, running } = waiting(onAbort);
    const controller = new AbortController();
    const attempt = runAttempt(def, {
      ...base,
      input: {},
      signal: controller.signal,
      host: recordingHost(),
    });
    await running;
    controller.abort(reason);
    expect(await attempt).toEqual(expected);
  });

  it('lets the abort decide even when the handler ignores the signal and returns later', async () => {
    const controller = new AbortController();
    const def = defineWorkload({
      type: 'test.ignore',
      input: { type: 'object' },
      run: async (ctx: WorkloadContext) => {
        controller.abort(STOP_REASONS.pause);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { ignored: ctx.signal.aborted };
      },
    });
    expect(
      await runAttempt(def, {
        ...base,
        input: {},
        signal: controller.signal,
        host: recordingHost(),
      }),
    ).toEqual({ outcome: 'paused' });
  });

  it('does not run the handler when the signal is already aborted', async () => {
    const run = jest.fn();
    const def = defineWorkload({ type: 'test.pre', input: { type: 'object' }, run });
    const controller = new AbortController();
    controller.abort(STOP_REASONS.drain);
    expect(
      await runAttempt(def, {
        ...base,
        input: {},
        signal: controller.signal,
        host: recordingHost(),
      }),
    ).toEqual({ outcome: 'paused' });
    expect(run).not.toHaveBeenCalled();
  });

  it('treats an abort without a stop reason as a cancel', async () => {
    const { def, running } = waiting('throw');
    const controller = new AbortController();
    const attempt = runAttempt(def, {
      ...base,
      input: {},
      signal: controller.signal,
      host: recordingHost(),
    });
    await running;
    controller.abort();
    expect(await attempt).toEqual({ outcome: 'cancelled' });
  });

  it('gives the handler its context and forwards progress, logs and checkpoints to the host', async () => {
    const host = recordingHost();
    const def = defineWorkload({
      type: 'test.ctx',
      input: { type: 'object' },
      run: async (ctx: WorkloadContext<{ n: number }>) => {
        ctx.progress(1.7, 'over');
        ctx.progress(-1);
        expect(() => ctx.progress(Number.NaN)).toThrow(/got NaN/);
        ctx.log.info('hello', { a: 1 });
        ctx.log.warn('careful');
        ctx.log.error('bad');
        ctx.log.write('stderr', 'raw');
        const state = { n: 1 };
        const pending = ctx.checkpoint(state);
        state.n = 2; // the host must see the state as it was when checkpoint() was called
        await pending;
        return { workloadId: ctx.workloadId, attempt: ctx.attempt, state: ctx.state };
      },
    });
    const outcome = await runAttempt(def, {
      workloadId: 'wl-9',
      attempt: 3,
      state: { n: 0 },
      input: {},
      host,
    });
    expect(outcome).toEqual({
      outcome: 'succeeded',
      result: { workloadId: 'wl-9', attempt: 3, state: { n: 0 } },
    });
    expect(host.progressCalls).toEqual([
      { fraction: 1, message: 'over' },
      { fraction: 0, message: undefined },
    ]);
    expect(host.lines).toEqual([
      { stream: 'info', line: 'hello {"a":1}' },
      { stream: 'warn', line: 'careful' },
      { stream: 'error', line: 'bad' },
      { stream: 'stderr', line: 'raw' },
    ]);
    expect(host.checkpoints).toEqual([{ n: 1 }]);
  });

  it('drops progress and rejects checkpoints after the attempt ended', async () => {
    const host = recordingHost();
    let saved: WorkloadContext | undefined;
    const def = defineWorkload({
      type: 'test.late',
      input: { type: 'object' },
      run: (ctx: WorkloadContext) => {
        saved = ctx;
        return 1;
      },
    });
    await runAttempt(def, { ...base, input: {}, host });
    saved?.progress(0.5);
    saved?.log.info('late');
    await expect(saved?.checkpoint({})).rejects.toThrow(/after attempt 1 of workload wl-1 ended/);
    expect(host.progressCalls).toEqual([]);
    expect(host.lines).toEqual([]);
    expect(host.checkpoints).toEqual([]);
  });
});
