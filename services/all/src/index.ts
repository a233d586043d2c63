import { start as startApi } from '@niyanta/api';
import { start as startCheckpoint } from '@niyanta/checkpoint';
import { start as startHealthMonitor } from '@niyanta/health-monitor';
import { startHealthServer } from '@niyanta/runtime';
import type { HealthServer, Logger } from '@niyanta/runtime';
import { start as startScheduler } from '@niyanta/scheduler';
import type { AllConfig } from './config.js';
import { HOSTED_SERVICES } from './hosted-services.js';
import type { HostedService } from './hosted-services.js';
import { createAllLogger } from './logger.js';

export { loadConfig, shutdownTimeoutMs } from './config.js';
export type { AllConfig } from './config.js';
export { ENV_PREFIXES, HOSTED_SERVICES, PROCESS_SETTINGS, serviceEnv } from './hosted-services.js';
export type { HostedService } from './hosted-services.js';
export { SERVICE_NAME } from './logger.js';

/** The hosted services, running. */
export interface AllServices extends AsyncDisposable {
  /** The API's port (useful with PORT=0). */
  readonly apiPort: number;
  /** The process's health server port, when HEALTH_PORT is set. */
  readonly healthPort: number | undefined;
  /** Resolves once the API has its connections (the other services are running when start resolves). */
  readonly ready: Promise<void>;
  /** Stops the API first, then the other services; idempotent. */
  close(): Promise<void>;
}

/** Options for starting the process's services in-process (tests) or from main. */
export interface StartOptions {
  log?: Logger;
  /** Aborting it gives up connecting (start-up retries until the servers answer). */
  signal?: AbortSignal;
}

/**
 * Starts api, scheduler, health-monitor and checkpoint in this process. Each is started through
 * its own `start(config)`: its own NATS connection and PostgreSQL pool, its own consumers and
 * logger, so they talk only through JetStream exactly as they do as separate processes.
 */
export async function start(config: AllConfig, opts: StartOptions = {}): Promise<AllServices> {
  const log = opts.log ?? createAllLogger(config.LOG_LEVEL);
  const running = new Set<HostedService>();
  let apiReady = false;
  let health: HealthServer | undefined;
  if (config.HEALTH_PORT !== undefined) {
    // Up before the services connect, so a probe sees which of them is not running yet.
    health = await startHealthServer({
      port: config.HEALTH_PORT,
      checks: {
        [HOSTED_SERVICES.api]: () => apiReady,
        [HOSTED_SERVICES.scheduler]: () => running.has(HOSTED_SERVICES.scheduler),
        [HOSTED_SERVICES.healthMonitor]: () => running.has(HOSTED_SERVICES.healthMonitor),
        [HOSTED_SERVICES.checkpoint]: () => running.has(HOSTED_SERVICES.checkpoint),
      },
    });
  }
  const deps = { signal: opts.signal };
  const track = async <T>(name: HostedService, started: Promise<T>): Promise<T> => {
    const service = await started;
    running.add(name);
    return service;
  };
  // The scheduler first: its broker user is the one that may create the streams, which the
  // others' users may only read (they would be refused, and retry, until the streams exist).
  const scheduler = await track(
    HOSTED_SERVICES.scheduler,
    startScheduler(config.scheduler, deps),
  ).catch(async (err: unknown) => {
    await health?.close();
    throw err;
  });
  const results = await Promise.allSettled([
    track(HOSTED_SERVICES.api, startApi(config.api, deps)),
    Promise.resolve(scheduler),
    track(HOSTED_SERVICES.healthMonitor, startHealthMonitor(config.healthMonitor, deps)),
    track(HOSTED_SERVICES.checkpoint, startCheckpoint(config.checkpoint, deps)),
  ] as const);
  const [apiResult, ...others] = results;
  if (results.some((r) => r.status === 'rejected')) {
    const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    await Promise.allSettled(started.map((s) => s[Symbol.asyncDispose]()));
    await health?.close();
    const failure = results.find((r) => r.status === 'rejected');
    throw (failure as PromiseRejectedResult).reason;
  }
  const api = (apiResult as PromiseFulfilledResult<Awaited<ReturnType<typeof startApi>>>).value;
  const rest = others.map((r) => (r as PromiseFulfilledResult<AsyncDisposable>).value);
  const ready = api.ready.then(() => {
    apiReady = true;
    log.info({ apiPort: api.port, healthPort: health?.port }, 'all services ready');
  });
  ready.catch(() => undefined); // reported to whoever awaits it; closing early is not an error here

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      health?.setDraining();
      // The API first: a POST still waiting for its workload's row needs the scheduler to ingest
      // it, and new submissions stop before the services behind them do.
      await api.close();
      await Promise.allSettled(rest.map((s) => s[Symbol.asyncDispose]()));
      await health?.close();
      log.info('all services stopped');
    })());
  return {
    apiPort: api.port,
    healthPort: health?.port,
    ready,
    close,
    [Symbol.asyncDispose]: close,
  };
}
