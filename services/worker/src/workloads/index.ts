import type { WorkloadDefinition } from '@niyanta/worker-sdk';
import { createExecWorkload } from './exec.js';
import type { ExecOptions } from './exec.js';
import { noopWorkload } from './noop.js';
import { sleepWorkload } from './sleep.js';

/** The built-in workload types: noop, sleep, and exec when an allow list is configured. */
export function builtinWorkloads(opts: { exec: ExecOptions | undefined }): WorkloadDefinition[] {
  const defs: WorkloadDefinition[] = [noopWorkload, sleepWorkload];
  if (opts.exec !== undefined) defs.push(createExecWorkload(opts.exec));
  return defs;
}

export {
  createExecWorkload,
  EXEC_KILL_GRACE_MS,
  EXEC_LINE_MAX_CHARS,
  EXEC_MAX_LOG_BYTES,
} from './exec.js';
export type { ExecInput, ExecOptions, ExecResult } from './exec.js';
export { resolveExecAllow } from './exec-allow.js';
export type { ExecAllowList } from './exec-allow.js';
export { isBlockedEnvName } from './exec-env.js';
export { noopWorkload } from './noop.js';
export { sleepWorkload } from './sleep.js';
export type { SleepInput, SleepResult, SleepState } from './sleep.js';
