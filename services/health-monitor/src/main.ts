import { serviceMain } from '@niyanta/runtime';
import { loadConfig } from './config.js';
import { start } from './index.js';
import { createServiceLogger, SERVICE_NAME } from './logger.js';

await serviceMain({
  service: SERVICE_NAME,
  loadConfig: () => loadConfig(process.env),
  logger: (config) => createServiceLogger(config.LOG_LEVEL),
  shutdownTimeoutMs: (config) => config.SHUTDOWN_TIMEOUT_MS,
  start,
});
