import { serviceMain } from '@niyanta/runtime';
import { loadConfig } from './config.js';
import { start } from './index.js';
import { SERVICE_NAME, createApiLogger } from './logger.js';

await serviceMain({
  service: SERVICE_NAME,
  loadConfig: () => loadConfig(),
  logger: (config) => createApiLogger(config.LOG_LEVEL),
  shutdownTimeoutMs: (config) => config.SHUTDOWN_TIMEOUT_MS,
  start,
});
