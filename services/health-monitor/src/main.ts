import { exitOnConfigError, runMain } from '@niyanta/runtime';
import { loadConfig } from './config.js';
import { start } from './index.js';
import { createServiceLogger, SERVICE_NAME } from './logger.js';

let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  exitOnConfigError(err, SERVICE_NAME);
}
const log = createServiceLogger(config.LOG_LEVEL);
await runMain({
  log,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: (signal) => start(config, { log, signal }),
}).catch((err: unknown) => {
  log.fatal({ err }, 'health monitor failed');
  process.exitCode = 1;
});
