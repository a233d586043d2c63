import { TelemetryConfigError, startTracing } from '@niyanta/telemetry';
import type { Tracing } from '@niyanta/telemetry';
import type { Logger } from 'pino';
import { applyEnvFile } from './env-file.js';
import { ConfigError } from './errors.js';
import { setLogLevel } from './logger.js';

/** What a started service may offer beside disposal: taking new settings without a restart. */
export interface Reloadable<C> {
  /** Applies the settings it can change while running (limits, intervals); ignores the rest. */
  reload?(config: C): void | Promise<void>;
}

/**
 * The body of every service's `main.ts`: starts the service, then on SIGINT/SIGTERM disposes it
 * (report unhealthy, stop intake, finish or hand back work, drain NATS, close the pool) within a
 * deadline. A second signal or the deadline forces exit, and the log says so. SIGHUP calls
 * `reload` (one at a time; a failure is logged and the service goes on as it was).
 */
export async function runMain<S extends AsyncDisposable>(opts: {
  log: Logger;
  shutdownTimeoutMs: number;
  start: (signal: AbortSignal) => Promise<S>;
  reload?: (service: S) => Promise<void>;
}): Promise<void> {
  const { log } = opts;
  const controller = new AbortController();
  let running: S | undefined;
  let reloading: Promise<void> = Promise.resolve();
  const onHangUp = () => {
    const service = running;
    if (service === undefined || opts.reload === undefined) {
      log.info('SIGHUP before start-up finished: nothing to reload');
      return;
    }
    const reload = opts.reload;
    reloading = reloading.then(() =>
      reload(service).catch((err: unknown) =>
        log.error({ err }, 'reload on SIGHUP failed; the settings in force stay'),
      ),
    );
  };
  process.on('SIGHUP', onHangUp);
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
    let service: S;
    try {
      service = await opts.start(controller.signal);
      running = service;
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
    process.off('SIGHUP', onHangUp);
  }
}

/** Prints a configuration error (every bad variable) and exits 2; rethrows anything else. */
export function exitOnConfigError(err: unknown, service: string): never {
  if (err instanceof ConfigError || err instanceof TelemetryConfigError) {
    process.stderr.write(`${service}: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

/**
 * The whole `main.ts` of a service: reads ENV_FILE over the environment, loads its configuration
 * (exit 2 naming every bad variable), starts tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set,
 * makes its logger, and runs it with `runMain`; a start-up failure is logged and exits 1. SIGHUP
 * reads ENV_FILE and the configuration again, sets the log level (of every logger made from
 * the service's) and hands the new configuration to the service's `reload`. Buffered spans are
 * exported before exit.
 */
export async function serviceMain<C, S extends AsyncDisposable & Reloadable<C>>(opts: {
  service: string;
  loadConfig: () => C;
  logger: (config: C) => Logger;
  /** The configuration's log level; default: its LOG_LEVEL field. */
  logLevel?: (config: C) => string | undefined;
  shutdownTimeoutMs: (config: C) => number;
  start: (config: C, deps: { log: Logger; signal: AbortSignal }) => Promise<S>;
}): Promise<void> {
  let config: C;
  let tracing: Tracing;
  try {
    applyEnvFile();
    config = opts.loadConfig();
    tracing = await startTracing(opts.service);
  } catch (err) {
    exitOnConfigError(err, opts.service);
  }
  const log = opts.logger(config);
  const levelOf = opts.logLevel ?? ((c: C) => (c as { LOG_LEVEL?: string } | undefined)?.LOG_LEVEL);
  const reload = async (service: S) => {
    applyEnvFile();
    const next = opts.loadConfig();
    const level = levelOf(next);
    if (level !== undefined) setLogLevel(log, level);
    await service.reload?.(next);
    log.info({ logLevel: level }, 'configuration reloaded on SIGHUP');
  };
  await runMain({
    log,
    shutdownTimeoutMs: opts.shutdownTimeoutMs(config),
    start: (signal) => opts.start(config, { log, signal }),
    reload,
  }).catch((err: unknown) => {
    log.fatal({ err }, `${opts.service} failed`);
    process.exitCode = 1;
  });
  await tracing.shutdown().catch((err: unknown) => {
    log.warn({ err }, 'spans not exported at exit');
  });
}
