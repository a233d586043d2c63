import { COMMON_SETTINGS, DATABASE_SETTING, parseConfig } from '@niyanta/runtime';
import type { ConfigOf, Setting } from '@niyanta/runtime';

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
} as const satisfies Record<string, Setting>;

export type ApiConfig = ConfigOf<typeof API_SETTINGS>;

/** Reads and validates the API's configuration; throws a `ConfigError` naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  return parseConfig(API_SETTINGS, env);
}
