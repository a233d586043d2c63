/** The services the single process hosts (the workers stay processes of their own). */
export const HOSTED_SERVICES = {
  api: 'api',
  scheduler: 'scheduler',
  healthMonitor: 'health-monitor',
  checkpoint: 'checkpoint',
} as const;
export type HostedService = (typeof HOSTED_SERVICES)[keyof typeof HOSTED_SERVICES];

/**
 * A variable named `<prefix><NAME>` sets `NAME` for that service only (`SCHEDULER__NATS_USER`).
 * The double underscore keeps the prefix apart from settings that start with the same word
 * (`CHECKPOINT_KEEP` is the checkpoint service's own setting, not an override).
 */
export const ENV_PREFIXES: Record<HostedService, string> = {
  api: 'API__',
  scheduler: 'SCHEDULER__',
  'health-monitor': 'HEALTH_MONITOR__',
  checkpoint: 'CHECKPOINT__',
};

/** Settings the single process reads for itself; the services do not see them unprefixed. */
export const PROCESS_SETTINGS = ['HEALTH_PORT'] as const;

type Env = Record<string, string | undefined>;

/**
 * The environment one hosted service reads: the shared environment less the process's own
 * settings and every service's overrides, with this service's overrides applied.
 */
export function serviceEnv(env: Env, service: HostedService): Env {
  const prefixes = Object.values(ENV_PREFIXES);
  const own: readonly string[] = PROCESS_SETTINGS;
  const out: Env = {};
  for (const [name, value] of Object.entries(env)) {
    if (own.includes(name) || prefixes.some((p) => name.startsWith(p))) continue;
    out[name] = value;
  }
  const prefix = ENV_PREFIXES[service];
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith(prefix) && name.length > prefix.length) {
      out[name.slice(prefix.length)] = value;
    }
  }
  return out;
}
