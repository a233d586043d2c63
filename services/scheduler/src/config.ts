import {
  COMMON_SETTINGS,
  CONSUMER_SETTINGS,
  ConfigError,
  DATABASE_SETTING,
  LEADERSHIP_SETTINGS,
  RETENTION_SETTING,
  leadershipProblem,
  leadershipTimings,
  parseConfig,
} from '@niyanta/runtime';
import type { ConfigOf, Setting } from '@niyanta/runtime';

/** PREEMPTION: off, graceful (checkpoint within the grace, then stop) or immediate. */
export const PREEMPTION_MODES = {
  off: 'off',
  graceful: 'graceful',
  immediate: 'immediate',
} as const;
export type PreemptionMode = (typeof PREEMPTION_MODES)[keyof typeof PREEMPTION_MODES];

const SCHEDULER_SETTINGS = {
  ...COMMON_SETTINGS,
  ...DATABASE_SETTING,
  ...CONSUMER_SETTINGS,
  ...RETENTION_SETTING,
  ...LEADERSHIP_SETTINGS,
  RETRY_BACKOFF_BASE_MS: { kind: 'int', default: 1_000, min: 0, max: 86_400_000 },
  RETRY_BACKOFF_MAX_MS: { kind: 'int', default: 60_000, min: 0, max: 86_400_000 },
  PLACEMENT_SWEEP_MS: { kind: 'int', default: 1_000, min: 10, max: 3_600_000 },
  HEARTBEAT_TIMEOUT_MS: { kind: 'int', default: 10_000, min: 1, max: 3_600_000 },
  INGEST_BATCH_MAX: { kind: 'int', default: 500, min: 1, max: 10_000 },
  /** A PENDING workload's effective priority rises by 1 per this many ms waited; 0: off. */
  PRIORITY_AGING_MS: { kind: 'int', default: 60_000, min: 0, max: 86_400_000 },
  /** How a PENDING workload that fits nowhere takes capacity from lower-priority runs. */
  PREEMPTION: {
    kind: 'enum',
    default: PREEMPTION_MODES.graceful,
    values: Object.values(PREEMPTION_MODES),
  },
  /** A victim's priority is at least this much lower than its preemptor's. */
  PREEMPTION_MIN_GAP: { kind: 'int', default: 100, min: 0, max: 1000 },
  /** graceful: how long a victim may take to checkpoint and stop before it is stopped anyway. */
  PREEMPTION_GRACE_MS: { kind: 'int', default: 30_000, min: 0, max: 3_600_000 },
  // What a workload without `placement.strategy` is placed by (docs/scheduling.md).
  PLACEMENT_STRATEGY: { kind: 'enum', default: 'spread', values: ['spread', 'binpack'] },
  SCHEDULE_TICK_MS: { kind: 'int', default: 1_000, min: 50, max: 60_000 },
  /** How often the leader resolves due waits (sleeps, timeouts) and wakes resolved ones. */
  WAIT_TICK_MS: { kind: 'int', default: 500, min: 20, max: 60_000 },
  /** Test-only: cron expressions may have a sixth, leading seconds field. */
  SCHEDULE_TEST_SECONDS: { kind: 'bool', default: false },
} as const satisfies Record<string, Setting>;

/** The scheduler's validated configuration. */
export type SchedulerConfig = ConfigOf<typeof SCHEDULER_SETTINGS>;

/** Reads and validates the scheduler's settings; throws `ConfigError` naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): SchedulerConfig {
  const config = parseConfig(SCHEDULER_SETTINGS, env);
  if (config.RETRY_BACKOFF_MAX_MS < config.RETRY_BACKOFF_BASE_MS) {
    throw new ConfigError([
      `RETRY_BACKOFF_MAX_MS (${config.RETRY_BACKOFF_MAX_MS}) is below RETRY_BACKOFF_BASE_MS (${config.RETRY_BACKOFF_BASE_MS}): ` +
        'the first retry would already wait longer than the cap. Set RETRY_BACKOFF_MAX_MS >= RETRY_BACKOFF_BASE_MS.',
    ]);
  }
  const leadership = leadershipProblem(leadershipTimings(config));
  if (leadership !== undefined) throw new ConfigError([leadership]);
  return config;
}
