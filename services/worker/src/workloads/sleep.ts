import { defineWorkload, WorkloadError } from '@niyanta/worker-sdk';
import type { WorkloadContext } from '@niyanta/worker-sdk';

const MAX_DURATION_MS = 7 * 24 * 60 * 60 * 1000;
const DEFAULT_STEPS = 10;

export interface SleepInput {
  durationMs: number;
  steps?: number;
  failTimes?: number;
}
export interface SleepState {
  step: number;
}
export interface SleepResult {
  sleptMs: number;
  steps: number;
  resumedFromStep: number;
}

/** `sleep`: a long run in steps with progress and a checkpoint after each step (demos and tests). */
export const sleepWorkload = defineWorkload({
  type: 'sleep',
  input: {
    type: 'object',
    properties: {
      durationMs: {
        type: 'integer',
        minimum: 0,
        maximum: MAX_DURATION_MS,
        description: 'Total time to sleep, in ms.',
      },
      steps: {
        type: 'integer',
        minimum: 1,
        maximum: 10_000,
        description: 'Steps (checkpoints); default 10.',
      },
      failTimes: {
        type: 'integer',
        minimum: 0,
        description: 'Fail the first N attempts (retryable).',
      },
    },
    required: ['durationMs'],
    additionalProperties: false,
  },
  async run(ctx: WorkloadContext<SleepState>, input: SleepInput): Promise<SleepResult> {
    const failTimes = input.failTimes ?? 0;
    // Fails at the start of the attempt, before any step or checkpoint, so each failing
    // attempt costs no time and the first successful one still runs every step.
    if (ctx.attempt <= failTimes) {
      throw new WorkloadError(
        `failing on purpose: attempt ${ctx.attempt} of failTimes ${failTimes}`,
        {
          code: 'SLEEP_FAIL_TIMES',
          retryable: true,
        },
      );
    }
    const steps = input.steps ?? DEFAULT_STEPS;
    const stepMs = input.durationMs / steps;
    // A checkpoint from a run with other steps could be past the end: clamp it.
    const resumedFromStep = Math.min(Math.max(0, Math.trunc(ctx.state?.step ?? 0)), steps);
    for (let step = resumedFromStep + 1; step <= steps; step++) {
      await abortableSleep(stepMs, ctx.signal);
      ctx.progress(step / steps, `step ${step}/${steps}`);
      await ctx.checkpoint({ step });
    }
    // Nominal time slept by this attempt (steps it ran times the step length), not wall time.
    return { sleptMs: Math.round((steps - resumedFromStep) * stepMs), steps, resumedFromStep };
  },
});

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = (): Error => new Error(`sleep stopped: ${String(signal.reason)}`);
    if (signal.aborted) {
      reject(aborted());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(aborted());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
