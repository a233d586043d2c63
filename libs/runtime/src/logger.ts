import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** A pino JSON logger for a service; errors go under `err` with their stack and cause. */
export function createLogger(service: string, level: string = 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.errWithCause },
  });
}
