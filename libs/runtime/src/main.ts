import type { Logger } from 'pino';
import { ConfigError } from './errors.js';

/**
 * The body of every service's `main.ts`: starts the service, then on SIGINT/SIGTERM disposes it
 * (report unhealthy, stop intake, finish or hand back work, drain NATS, close the pool) within a
 * deadline. A second signal or the deadline forces exit, and the log says so.
 */
export async function runMain(opts: {
  log: Logger;
  shutdownTimeoutMs: number;
  start: (signal: AbortSignal) => Promise<AsyncDisposable>;
}): Promise<void> {
  const { log } = opts;
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal: sig }, 'second signal: exiting now without finishing the shutdown');
      process.exit(130);
    }
    log.info({ signal: sig, timeoutMs: opts.shutdownTimeoutMs }, 'shutting down');
    controller.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let service: AsyncDisposable;
    try {
      service = await opts.start(controller.signal);
    } catch (err) {
      if (controller.signal.aborted) {
        log.info('stopped before start-up finished');
        return;
      }
      throw err;
    }
    log.info('started');
    if (!controller.signal.aborted) {
      await new Promise<void>((resolve) =>
        controller.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    }
    const deadline = setTimeout(() => {
      log.error(
        { timeoutMs: opts.shutdownTimeoutMs },
        'shutdown deadline passed: exiting with work unfinished',
      );
      process.exit(1);
    }, opts.shutdownTimeoutMs);
    deadline.unref();
    await service[Symbol.asyncDispose]();
    clearTimeout(deadline);
    log.info('stopped');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Prints a configuration error (every bad variable) and exits 2; rethrows anything else. */
export function exitOnConfigError(err: unknown, service: string): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${service}: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

/**
 * The whole `main.ts` of a service: loads its configuration (exit 2 naming every bad variable),
 * makes its logger, and runs it with `runMain`; a start-up failure is logged and exits 1.
 */
export async function serviceMain<C>(opts: {
  service: string;
  loadConfig: () => C;
  logger: (config: C) => Logger;
  shutdownTimeoutMs: (config: C) => number;
  start: (config: C, deps: { log: Logger; signal: AbortSignal }) => Promise<AsyncDisposable>;
}): Promise<void> {
  let config: C;
  try {
    config = opts.loadConfig();
  } catch (err) {
    exitOnConfigError(err, opts.service);
  }
  const log = opts.logger(config);
  await runMain({
    log,
    shutdownTimeoutMs: opts.shutdownTimeoutMs(config),
    start: (signal) => opts.start(config, { log, signal }),
  }).catch((err: unknown) => {
    log.fatal({ err }, `${opts.service} failed`);
    process.exitCode = 1;
  });
}
