import {
  COMMON_SETTINGS,
  ConfigError,
  DATABASE_SETTING,
  parseConfig,
  parseSecretKeys,
} from '@niyanta/runtime';
import type { ConfigOf, Setting } from '@niyanta/runtime';

/** Shortest API_ROOT_KEY accepted: 32 characters of a random key carry well over 128 bits. */
export const ROOT_KEY_MIN_LENGTH = 32;

export const AUTH_MODES = { enabled: 'enabled', disabled: 'disabled' } as const;

/** Every environment variable the API reads. */
export const API_SETTINGS = {
  ...COMMON_SETTINGS,
  ...DATABASE_SETTING,
  PORT: { kind: 'int', default: 8080, min: 0, max: 65535 },
  HOST: { kind: 'string', default: '0.0.0.0' },
  /** How long POST waits for PostgreSQL to have the workload before answering 202. */
  SUBMIT_WAIT_MS: { kind: 'int', default: 2000, min: 0, max: 60_000 },
  /**
   * How long an idle keep-alive connection stays open. Behind a load balancer it must outlast the
   * balancer's own idle timeout (60 s on the common ones), or the balancer sends a request down a
   * connection the API is closing and answers 502; Node's own 5 s is too short for that. At most
   * 290 s: the headers timeout, kept above it, may not pass Node's 300 s request timeout.
   */
  HTTP_KEEP_ALIVE_MS: { kind: 'int', default: 65_000, min: 1000, max: 290_000 },
  /** Server-Sent Events streams open at once on this instance; one more is answered 429. */
  SSE_MAX_STREAMS: { kind: 'int', default: 1000, min: 1, max: 1_000_000 },
  /** Server-Sent Events streams one tenant may have open at once on this instance. */
  SSE_MAX_STREAMS_PER_TENANT: { kind: 'int', default: 100, min: 1, max: 1_000_000 },
  /** Bytes an event stream may fall behind its client before it is disconnected. */
  SSE_QUEUE_MAX_BYTES: { kind: 'int', default: 1_048_576, min: 65_536, max: 1_073_741_824 },
  /** Body size past which a `GET /v1/workloads` page stops early (its nextCursor goes on). */
  LIST_MAX_BYTES: { kind: 'int', default: 4_194_304, min: 65_536, max: 1_073_741_824 },
  /** `disabled` turns authentication off (only with a loopback HOST). */
  AUTH_MODE: { kind: 'enum', default: AUTH_MODES.enabled, values: Object.values(AUTH_MODES) },
  /** The installation's root key (never stored or logged); optional. */
  API_ROOT_KEY: { kind: 'string', secret: true },
  /** Keys that seal secrets (`<id>:<base64 32 bytes>,...`, the first seals); never logged. */
  SECRETS_KEY: { kind: 'string', secret: true },
  /** Whether /metrics, /openapi.json and /docs need a key too. */
  METRICS_AUTH: { kind: 'bool', default: false },
  /**
   * How long a key's or a tenant's row is trusted before it is read again: a revoked key stops
   * working on every instance within this (plus one request). At most 1.5 s, so revocation is
   * always seen within 2 s.
   */
  AUTH_CACHE_TTL_MS: { kind: 'int', default: 1000, min: 0, max: 1500 },
  /**
   * The scheduler's priority aging interval, for the `effectivePriority` GET shows: set both to
   * the same value (0: aging off).
   */
  PRIORITY_AGING_MS: { kind: 'int', default: 60_000, min: 0, max: 86_400_000 },
  /** Test-only: cron expressions of schedules may have a sixth, leading seconds field. */
  SCHEDULE_TEST_SECONDS: { kind: 'bool', default: false },
} as const satisfies Record<string, Setting>;

export type ApiConfig = ConfigOf<typeof API_SETTINGS>;

/** Whether `host` only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** Rules across settings; the messages never include the root key's value. */
function crossFieldProblems(config: ApiConfig): string[] {
  const problems: string[] = [];
  const rootKey = config.API_ROOT_KEY;
  if (rootKey !== undefined && rootKey.length < ROOT_KEY_MIN_LENGTH) {
    problems.push(
      `API_ROOT_KEY has ${rootKey.length} characters; it needs at least ${ROOT_KEY_MIN_LENGTH}. Generate one with: openssl rand -base64 32`,
    );
  }
  if (config.SECRETS_KEY !== undefined) {
    const keys = parseSecretKeys(config.SECRETS_KEY);
    if ('problems' in keys) problems.push(...keys.problems);
  }
  if (config.AUTH_MODE === AUTH_MODES.disabled && !isLoopbackHost(config.HOST)) {
    problems.push(
      `AUTH_MODE=disabled with HOST=${config.HOST}: anyone who reaches the API would act as admin. Use HOST=127.0.0.1, or keep authentication on.`,
    );
  }
  return problems;
}

/** Reads and validates the API's configuration; throws a `ConfigError` naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  let config: ApiConfig;
  try {
    config = parseConfig(API_SETTINGS, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // Report the cross-field problems too, from what could be read.
    const partial = { ...env } as unknown as ApiConfig;
    const extra = crossFieldProblems({
      ...partial,
      HOST: env['HOST'] ?? API_SETTINGS.HOST.default,
      AUTH_MODE: (env['AUTH_MODE'] ?? AUTH_MODES.enabled) as ApiConfig['AUTH_MODE'],
    });
    throw new ConfigError([...err.problems, ...extra]);
  }
  const problems = crossFieldProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
