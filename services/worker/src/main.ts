import { exitOnConfigError, runMain } from '@niyanta/runtime';
import { loadConfig } from './config.js';
import type { WorkerConfig } from './config.js';
import { createWorkerLogger } from './logger.js';
import { start } from './worker.js';

let config: WorkerConfig;
try {
  config = loadConfig();
} catch (err) {
  exitOnConfigError(err, 'worker');
}
const log = createWorkerLogger(config.logLevel);
await runMain({
  log,
  shutdownTimeoutMs: config.shutdownTimeoutMs,
  start: (signal) => start(config, { log, signal }),
});
