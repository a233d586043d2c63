import { runAttempt } from '@niyanta/worker-sdk';
import type { AttemptHost } from '@niyanta/worker-sdk';
import { noopWorkload } from '../src/workloads/noop.js';

const host: AttemptHost = {
  progress: () => undefined,
  log: () => undefined,
  checkpoint: async () => undefined,
};

describe('noop workload', () => {
  it('returns its input at once', async () => {
    const input = { a: 1, nested: { b: [true, null] } };
    expect(await runAttempt(noopWorkload, { workloadId: 'w', attempt: 1, input, host })).toEqual({
      outcome: 'succeeded',
      result: input,
    });
  });

  it('takes any JSON value: numbers, null, arrays', async () => {
    for (const input of [1, null, [1, 'two'], 'text']) {
      expect(await runAttempt(noopWorkload, { workloadId: 'w', attempt: 1, input, host })).toEqual({
        outcome: 'succeeded',
        result: input,
      });
    }
  });
});
