import { loadConfig as loadApiConfig } from '@niyanta/api';
import type { ApiConfig } from '@niyanta/api';
import { loadConfig as loadCheckpointConfig } from '@niyanta/checkpoint';
import type { Config as CheckpointConfig } from '@niyanta/checkpoint';
import { loadConfig as loadHealthMonitorConfig } from '@niyanta/health-monitor';
import type { Config as HealthMonitorConfig } from '@niyanta/health-monitor';
import { COMMON_SETTINGS, ConfigError, parseConfig } from '@niyanta/runtime';
import { loadConfig as loadSchedulerConfig } from '@niyanta/scheduler';
import type { SchedulerConfig } from '@niyanta/scheduler';
import { HOSTED_SERVICES, serviceEnv } from './hosted-services.js';
import type { HostedService } from './hosted-services.js';

type Env = Record<string, string | undefined>;

/** What the process reads for itself: one health server for all services, and its log level. */
const PROCESS_SPEC = {
  HEALTH_PORT: COMMON_SETTINGS.HEALTH_PORT,
  LOG_LEVEL: COMMON_SETTINGS.LOG_LEVEL,
} as const;

/** The configuration of the single process: each service's own, from one environment. */
export interface AllConfig {
  /** Serves /healthz and /readyz for the whole process, when set. */
  HEALTH_PORT: number | undefined;
  LOG_LEVEL: string;
  api: ApiConfig;
  scheduler: SchedulerConfig;
  healthMonitor: HealthMonitorConfig;
  checkpoint: CheckpointConfig;
}

/** Each service's configuration, or its problems (every one of them). */
function attempt<C>(load: () => C): { config: C } | { problems: readonly string[] } {
  try {
    return { config: load() };
  } catch (err) {
    if (err instanceof ConfigError) return { problems: err.problems };
    throw err;
  }
}

/**
 * Reads every hosted service's configuration with that service's own validation, from `env`
 * with its `<SERVICE>__` overrides applied. Throws one `ConfigError` naming every bad variable,
 * each once, with the services it concerns.
 */
export function loadConfig(env: Env): AllConfig {
  const own = attempt(() => parseConfig(PROCESS_SPEC, env));
  const api = attempt(() => loadApiConfig(serviceEnv(env, HOSTED_SERVICES.api)));
  const scheduler = attempt(() => loadSchedulerConfig(serviceEnv(env, HOSTED_SERVICES.scheduler)));
  const healthMonitor = attempt(() =>
    loadHealthMonitorConfig(serviceEnv(env, HOSTED_SERVICES.healthMonitor)),
  );
  const checkpoint = attempt(() =>
    loadCheckpointConfig(serviceEnv(env, HOSTED_SERVICES.checkpoint)),
  );
  const byProblem = new Map<string, string[]>();
  const collect = (who: string, result: { problems: readonly string[] } | object): void => {
    if (!('problems' in result)) return;
    for (const p of result.problems) byProblem.set(p, [...(byProblem.get(p) ?? []), who]);
  };
  collect('process', own);
  const services: [HostedService, object][] = [
    [HOSTED_SERVICES.api, api],
    [HOSTED_SERVICES.scheduler, scheduler],
    [HOSTED_SERVICES.healthMonitor, healthMonitor],
    [HOSTED_SERVICES.checkpoint, checkpoint],
  ];
  for (const [name, result] of services) collect(name, result);
  if (byProblem.size > 0) {
    throw new ConfigError([...byProblem].map(([p, who]) => `${p} (${who.join(', ')})`));
  }
  // Every result has a config here: a problem would have thrown above.
  const ok = <C>(r: { config: C } | { problems: readonly string[] }): C =>
    (r as { config: C }).config;
  const process = ok(own);
  return {
    HEALTH_PORT: process.HEALTH_PORT,
    LOG_LEVEL: process.LOG_LEVEL,
    api: ok(api),
    scheduler: ok(scheduler),
    healthMonitor: ok(healthMonitor),
    checkpoint: ok(checkpoint),
  };
}

/** The shutdown deadline of the process: the longest any hosted service asks for. */
export function shutdownTimeoutMs(config: AllConfig): number {
  return Math.max(
    config.api.SHUTDOWN_TIMEOUT_MS,
    config.scheduler.SHUTDOWN_TIMEOUT_MS,
    config.healthMonitor.SHUTDOWN_TIMEOUT_MS,
    config.checkpoint.SHUTDOWN_TIMEOUT_MS,
  );
}
