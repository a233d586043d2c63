import { BLOB_SETTINGS, blobConfigProblems } from '@niyanta/blob-store';
import type { BlobStoreKind } from '@niyanta/blob-store';
import {
  COMMON_SETTINGS,
  CONSUMER_SETTINGS,
  ConfigError,
  DATABASE_SETTING,
  RETENTION_SETTING,
  parseConfig,
} from '@niyanta/runtime';
import type { ConfigOf } from '@niyanta/runtime';

const SPEC = {
  ...COMMON_SETTINGS,
  ...DATABASE_SETTING,
  ...CONSUMER_SETTINGS,
  CHECKPOINT_KEEP: { kind: 'int', default: 3, min: 1, max: 1_000 },
  CHECKPOINT_INLINE_MAX_BYTES: { kind: 'int', default: 262_144, min: 0, max: 64 * 1024 * 1024 },
  ...BLOB_SETTINGS,
  CHECKPOINT_TTL_AFTER_END_HOURS: { kind: 'number', default: 168, min: 0, max: 24 * 3_650 },
  ...RETENTION_SETTING,
} as const;

/** The checkpoint service's configuration. */
export type Config = Omit<ConfigOf<typeof SPEC>, 'BLOB_STORE'> & { BLOB_STORE: BlobStoreKind };

/** The cross-field rules; returns every problem (empty when the configuration is consistent). */
export function crossFieldProblems(config: Config): string[] {
  return blobConfigProblems(config);
}

/** Reads and validates the environment; throws `ConfigError` naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const config = parseConfig(SPEC, env) as Config;
  const problems = crossFieldProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * Hours after a workload's end that its checkpoints are kept: CHECKPOINT_TTL_AFTER_END_HOURS, cut
 * to WORKLOAD_RETENTION_DAYS when that is shorter (the scheduler deletes a workload only once
 * its checkpoints are gone).
 */
export function checkpointExpiryHours(
  config: Pick<Config, 'CHECKPOINT_TTL_AFTER_END_HOURS' | 'WORKLOAD_RETENTION_DAYS'>,
): number {
  const days = config.WORKLOAD_RETENTION_DAYS;
  return days > 0
    ? Math.min(config.CHECKPOINT_TTL_AFTER_END_HOURS, days * 24)
    : config.CHECKPOINT_TTL_AFTER_END_HOURS;
}
