import { createLogger } from '@niyanta/runtime';
import type { Logger } from '@niyanta/runtime';

/** The service name in logs, NATS connection names and the PostgreSQL application name. */
export const SERVICE_NAME = 'checkpoint';

/** The service's root logger; components take children of it. */
export function createServiceLogger(level: string): Logger {
  return createLogger(SERVICE_NAME, level);
}
