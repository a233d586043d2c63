import { BLOB_SETTINGS, blobConfigProblems } from '@niyanta/blob-store';
import type { BlobStoreKind } from '@niyanta/blob-store';
import {
  COMMON_SETTINGS,
  CONSUMER_SETTINGS,
  ConfigError,
  DATABASE_SETTING,
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
