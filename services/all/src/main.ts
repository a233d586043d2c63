import { serviceMain } from '@niyanta/runtime';
import { loadConfig, shutdownTimeoutMs } from './config.js';
import { start } from './index.js';
import { SERVICE_NAME, createAllLogger } from './logger.js';

await serviceMain({
  service: SERVICE_NAME,
  loadConfig: () => loadConfig(process.env),
  logger: (config) => createAllLogger(config.LOG_LEVEL),
  shutdownTimeoutMs,
  start,
});
