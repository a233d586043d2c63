import { exitOnConfigError, runMain } from '@niyanta/runtime';
import { loadConfig } from './config.js';
import type { SchedulerConfig } from './config.js';
import { createSchedulerLogger } from './logger.js';
import { start } from './service.js';

let config: SchedulerConfig;
try {
  config = loadConfig(process.env);
} catch (err) {
  exitOnConfigError(err, 'scheduler');
}
const log = createSchedulerLogger(config.LOG_LEVEL);
await runMain({
  log,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: (signal) => start(config, { log, signal }),
});
