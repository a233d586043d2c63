import { serviceMain } from '@niyanta/runtime';
import { loadConfig } from './config.js';
import { createSchedulerLogger } from './logger.js';
import { start } from './service.js';

await serviceMain({
  service: 'scheduler',
  loadConfig: () => loadConfig(process.env),
  logger: (config) => createSchedulerLogger(config.LOG_LEVEL),
  shutdownTimeoutMs: (config) => config.SHUTDOWN_TIMEOUT_MS,
  start,
});
