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

  it('rejects an input that is not an object', async () => {
    expect(
      await runAttempt(noopWorkload, { workloadId: 'w', attempt: 1, input: [1], host }),
    ).toMatchObject({
      outcome: 'failed',
      error: { code: 'INVALID_INPUT', message: expect.stringContaining('(root) must be object') },
    });
  });
});
