import type { WorkloadDefinition } from '@niyanta/worker-sdk';
import { createExecWorkload } from './exec.js';
import { noopWorkload } from './noop.js';
import { sleepWorkload } from './sleep.js';

/** The built-in workload types: noop, sleep, and exec when an allow list is configured. */
export function builtinWorkloads(opts: {
  execAllow: readonly string[] | '*' | undefined;
}): WorkloadDefinition[] {
  const defs: WorkloadDefinition[] = [noopWorkload, sleepWorkload];
  if (opts.execAllow !== undefined) defs.push(createExecWorkload(opts.execAllow));
  return defs;
}

export { createExecWorkload, EXEC_KILL_GRACE_MS } from './exec.js';
export type { ExecInput, ExecResult } from './exec.js';
export { noopWorkload } from './noop.js';
export { sleepWorkload } from './sleep.js';
export type { SleepInput, SleepResult, SleepState } from './sleep.js';
