import { defineWorkload } from '@niyanta/worker-sdk';

/** `noop`: returns its input at once (for benchmarks of the platform itself). */
export const noopWorkload = defineWorkload({
  type: 'noop',
  input: { type: 'object' },
  run: (_ctx, input: Record<string, unknown>) => input,
});
