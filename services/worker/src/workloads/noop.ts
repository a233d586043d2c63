import { defineWorkload } from '@niyanta/worker-sdk';

/** `noop`: returns its input, any JSON value, at once (for benchmarks of the platform itself). */
export const noopWorkload = defineWorkload({
  type: 'noop',
  input: { description: 'Any JSON value; it comes back as the result.' },
  run: (_ctx, input: unknown) => input,
});
