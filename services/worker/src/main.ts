import { serviceMain } from '@niyanta/runtime';
import { loadConfig } from './config.js';
import { createWorkerLogger } from './logger.js';
import { start } from './worker.js';

await serviceMain({
  service: 'worker',
  loadConfig: () => loadConfig(),
  logger: (config) => createWorkerLogger(config.logLevel),
  logLevel: (config) => config.logLevel,
  shutdownTimeoutMs: (config) => config.shutdownTimeoutMs,
  start,
});
