import { createLogger } from '@niyanta/runtime';
import type { Logger } from '@niyanta/runtime';

export type { Logger };

/** The worker's root logger; modules take children of it (`log.child({ workloadId })`). */
export function createWorkerLogger(level: string): Logger {
  return createLogger('worker', level);
}
