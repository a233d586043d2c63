import { createLogger } from '@niyanta/runtime';
import type { Logger } from '@niyanta/runtime';

/** The process's name in its own log lines; each hosted service logs under its own name. */
export const SERVICE_NAME = 'all';

/** The process's logger (start-up, readiness, shutdown of the whole). */
export function createAllLogger(level: string): Logger {
  return createLogger(SERVICE_NAME, level);
}
