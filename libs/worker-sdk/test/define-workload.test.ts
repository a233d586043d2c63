import {
  defineWorkload,
  WorkloadDefinitionError,
  WorkerSdkError,
  WorkloadError,
} from '../src/index.js';

const run = () => null;

describe('defineWorkload', () => {
  it('returns a valid definition as is', () => {
    const def = {
      type: 'video.transcode-v2',
      input: { type: 'object' },
      run,
      checkpointIntervalMs: 1000,
      snapshot: () => 1,
    };
    expect(defineWorkload(def)).toBe(def);
  });

  it.each(['', 'Upper', '1abc', 'has space', `a${'b'.repeat(100)}`])(
    'rejects the type name %j',
    (type) => {
      expect(() => defineWorkload({ type, input: { type: 'object' }, run })).toThrow(
        WorkloadDefinitionError,
      );
      expect(() => defineWorkload({ type, input: { type: 'object' }, run })).toThrow(
        /is not a valid type name/,
      );
    },
  );

  it('rejects an input schema that does not compile, naming the type', () => {
    expect(() => defineWorkload({ type: 'bad.schema', input: { type: 'objekt' }, run })).toThrow(
      /Workload type "bad.schema" has an input schema that does not compile/,
    );
  });

  it('rejects a missing schema or handler and a bad checkpoint interval', () => {
    expect(() => defineWorkload({ type: 'a', input: null as never, run })).toThrow(
      /needs "input": a JSON Schema object/,
    );
    expect(() => defineWorkload({ type: 'a', input: {}, run: 'x' as never })).toThrow(
      /needs a "run\(ctx, input\)" function/,
    );
    expect(() => defineWorkload({ type: 'a', input: {}, run, checkpointIntervalMs: -5 })).toThrow(
      /checkpointIntervalMs number -5/,
    );
  });

  it('makes WorkloadError a WorkerSdkError with defaults and a cause', () => {
    const cause = new Error('root');
    const err = new WorkloadError('boom', { cause });
    expect(err).toBeInstanceOf(WorkerSdkError);
    expect(err).toMatchObject({
      name: 'WorkloadError',
      code: 'WORKLOAD_ERROR',
      retryable: true,
      cause,
    });
  });
});
