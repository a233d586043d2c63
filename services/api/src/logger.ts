import { createLogger } from '@niyanta/runtime';
import type { Logger } from '@niyanta/runtime';

export const SERVICE_NAME = 'api';

/** The API's root logger; modules take children of it (`log.child({ module })`). */
export function createApiLogger(level: string): Logger {
  return createLogger(SERVICE_NAME, level);
}
