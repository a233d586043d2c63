import { runAttempt, STOP_REASONS } from '@niyanta/worker-sdk';
import type { AttemptHost } from '@niyanta/worker-sdk';
import { sleepWorkload } from '../src/workloads/sleep.js';

/** Records what the runner forwards; the SDK runner is a pure unit, so no worker is needed. */
function recordingHost() {
  const progress: { fraction: number; message: string | undefined }[] = [];
  const checkpoints: unknown[] = [];
  const host: AttemptHost = {
    progress: (fraction, message) => void progress.push({ fraction, message }),
    log: () => undefined,
    checkpoint: async (state) => void checkpoints.push(state),
  };
  return { host, progress, checkpoints };
}

async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('sleep workload', () => {
  it('runs every step, reporting progress and a checkpoint after each', async () => {
    const { host, progress, checkpoints } = recordingHost();
    const outcome = await runAttempt(sleepWorkload, {
      workloadId: 'w',
      attempt: 1,
      input: { durationMs: 20, steps: 4 },
      host,
    });
    expect(outcome).toEqual({
      outcome: 'succeeded',
      result: { sleptMs: 20, steps: 4, resumedFromStep: 0 },
    });
    expect(progress).toEqual([
      { fraction: 0.25, message: 'step 1/4' },
      { fraction: 0.5, message: 'step 2/4' },
      { fraction: 0.75, message: 'step 3/4' },
      { fraction: 1, message: 'step 4/4' },
    ]);
    expect(checkpoints).toEqual([{ step: 1 }, { step: 2 }, { step: 3 }, { step: 4 }]);
  });

  it('resumes from a restored checkpoint state', async () => {
    const { host, progress, checkpoints } = recordingHost();
    const outcome = await runAttempt(sleepWorkload, {
      workloadId: 'w',
      attempt: 2,
      state: { step: 3 },
      input: { durationMs: 50, steps: 5 },
      host,
    });
    expect(outcome).toEqual({
      outcome: 'succeeded',
      result: { sleptMs: 20, steps: 5, resumedFromStep: 3 },
    });
    expect(progress.map((p) => p.message)).toEqual(['step 4/5', 'step 5/5']);
    expect(checkpoints).toEqual([{ step: 4 }, { step: 5 }]);
  });

  it('fails retryably on the first failTimes attempts, then succeeds', async () => {
    const input = { durationMs: 0, steps: 1, failTimes: 2 };
    for (const attempt of [1, 2]) {
      const { host, checkpoints } = recordingHost();
      expect(await runAttempt(sleepWorkload, { workloadId: 'w', attempt, input, host })).toEqual({
        outcome: 'failed',
        error: {
          message: `failing on purpose: attempt ${attempt} of failTimes 2`,
          code: 'SLEEP_FAIL_TIMES',
          retryable: true,
        },
      });
      expect(checkpoints).toEqual([]);
    }
    const { host } = recordingHost();
    expect(
      await runAttempt(sleepWorkload, { workloadId: 'w', attempt: 3, input, host }),
    ).toMatchObject({ outcome: 'succeeded' });
  });

  it('stops promptly when paused mid-step, after the last checkpoint', async () => {
    const { host, checkpoints } = recordingHost();
    const controller = new AbortController();
    // 20 ms steps; a run to the end would take 40 s.
    const attempt = runAttempt(sleepWorkload, {
      workloadId: 'w',
      attempt: 1,
      input: { durationMs: 40_000, steps: 2000 },
      signal: controller.signal,
      host,
    });
    await waitFor(() => checkpoints.length >= 1);
    const pausedAt = Date.now();
    const checkpointsAtPause = checkpoints.length;
    controller.abort(STOP_REASONS.pause);
    expect(await attempt).toEqual({ outcome: 'paused' });
    // Well under one 20 ms step would allow, with slack for a busy machine.
    expect(Date.now() - pausedAt).toBeLessThan(200);
    expect(checkpoints).toHaveLength(checkpointsAtPause);
  });

  it('times out with the attempt deadline', async () => {
    const { host } = recordingHost();
    expect(
      await runAttempt(sleepWorkload, {
        workloadId: 'w',
        attempt: 1,
        input: { durationMs: 60_000 },
        timeoutMs: 30,
        host,
      }),
    ).toEqual({
      outcome: 'failed',
      error: { message: 'timed out after 30 ms', code: 'TIMEOUT', retryable: true },
    });
  });

  it('rejects bad input with the failing paths', async () => {
    const { host } = recordingHost();
    const outcome = await runAttempt(sleepWorkload, {
      workloadId: 'w',
      attempt: 1,
      input: { durationMs: 1.5, steps: 0, x: 1 },
      host,
    });
    expect(outcome).toMatchObject({
      outcome: 'failed',
      error: { code: 'INVALID_INPUT', retryable: false },
    });
    if (outcome.outcome !== 'failed') return;
    expect(outcome.error.message).toContain('/durationMs must be integer');
    expect(outcome.error.message).toContain('/steps must be >= 1');
    expect(outcome.error.message).toContain('/x is not allowed');
  });
});
