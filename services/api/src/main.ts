import { exitOnConfigError, runMain } from '@niyanta/runtime';
import { loadConfig } from './config.js';
import type { ApiConfig } from './config.js';
import { start } from './index.js';
import { SERVICE_NAME, createApiLogger } from './logger.js';

let config: ApiConfig;
try {
  config = loadConfig();
} catch (err) {
  exitOnConfigError(err, SERVICE_NAME);
}
const log = createApiLogger(config.LOG_LEVEL);
await runMain({
  log,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: (signal) => start(config, { log, signal }),
});
