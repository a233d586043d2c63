import {
  COMMON_SETTINGS,
  CONSUMER_SETTINGS,
  ConfigError,
  DATABASE_SETTING,
  LEADERSHIP_SETTINGS,
  leadershipProblem,
  leadershipTimings,
  parseConfig,
} from '@niyanta/runtime';
import type { ConfigOf } from '@niyanta/runtime';

const SPEC = {
  ...COMMON_SETTINGS,
  ...DATABASE_SETTING,
  ...CONSUMER_SETTINGS,
  ...LEADERSHIP_SETTINGS,
  HEARTBEAT_INTERVAL_MS: { kind: 'int', default: 2_000, min: 10, max: 600_000 },
  HEARTBEAT_TIMEOUT_MS: { kind: 'int', default: 10_000, min: 30, max: 3_600_000 },
  DEAD_WORKER_RETENTION_HOURS: { kind: 'number', default: 24, min: 0, max: 24 * 365 },
  // Reconciliation: how long a run may be missing from its worker's heartbeats after it started
  // (default: two heartbeat intervals), and how long an assignment may wait to be started.
  RECONCILE_GRACE_MS: { kind: 'int', min: 0, max: 3_600_000 },
  ASSIGNMENT_START_DEADLINE_MS: { kind: 'int', default: 30_000, min: 10, max: 86_400_000 },
} as const;

/** The health monitor's configuration. */
export type Config = ConfigOf<typeof SPEC>;

/** A worker may miss this many beats in a row (a GC pause, a slow network) before it is declared dead. */
export const MIN_MISSED_BEATS = 3;

/** The cross-field rule: the timeout must cover at least three intervals. Returns the problem, if any. */
export function timeoutProblem(intervalMs: number, timeoutMs: number): string | undefined {
  if (timeoutMs >= MIN_MISSED_BEATS * intervalMs) return undefined;
  return (
    `HEARTBEAT_TIMEOUT_MS (${timeoutMs}) is below ${MIN_MISSED_BEATS} × HEARTBEAT_INTERVAL_MS (${intervalMs}) = ${MIN_MISSED_BEATS * intervalMs}: ` +
    `a worker that misses one or two beats would be declared dead and its runs moved. ` +
    `Set HEARTBEAT_TIMEOUT_MS to at least ${MIN_MISSED_BEATS * intervalMs} or lower HEARTBEAT_INTERVAL_MS.`
  );
}

/** Reads and validates the environment; throws `ConfigError` naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const config = parseConfig(SPEC, env);
  const problem = timeoutProblem(config.HEARTBEAT_INTERVAL_MS, config.HEARTBEAT_TIMEOUT_MS);
  const problems = [problem, leadershipProblem(leadershipTimings(config))].filter(
    (p): p is string => p !== undefined,
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** A run may be missing from its worker's heartbeats this long after it started, by default. */
export const DEFAULT_GRACE_INTERVALS = 2;

/** The reconciliation grace period: RECONCILE_GRACE_MS, or two heartbeat intervals. */
export function reconcileGraceMs(config: Config): number {
  return config.RECONCILE_GRACE_MS ?? DEFAULT_GRACE_INTERVALS * config.HEARTBEAT_INTERVAL_MS;
}
