import { createLogger } from '@niyanta/runtime';
import type { Logger } from '@niyanta/runtime';

export type { Logger };

/** The scheduler's root logger; components log through `component(log, name)` children. */
export function createSchedulerLogger(level: string): Logger {
  return createLogger('scheduler', level);
}

/** The parts of the scheduler that log, so child loggers are named in one place. */
export const COMPONENTS = {
  ingest: 'ingest',
  placer: 'placer',
  workerView: 'worker-view',
  runUpdates: 'run-updates',
  completions: 'completions',
  workerDead: 'worker-dead',
  commands: 'commands',
  deadLetters: 'dead-letters',
  schedules: 'schedules',
  spawns: 'spawns',
  waits: 'waits',
} as const;
export type Component = (typeof COMPONENTS)[keyof typeof COMPONENTS];

/** A child logger for one component. */
export function component(log: Logger, name: Component): Logger {
  return log.child({ component: name });
}
