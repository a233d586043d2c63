import { COMMON_SETTINGS, ConfigError, DATABASE_SETTING, parseConfig } from '@niyanta/runtime';
import type { ConfigOf } from '@niyanta/runtime';

/** Where checkpoints too large to store inline go. */
export const BLOB_STORES = { fs: 'fs', s3: 's3' } as const;
export type BlobStoreKind = (typeof BLOB_STORES)[keyof typeof BLOB_STORES];

const SPEC = {
  ...COMMON_SETTINGS,
  ...DATABASE_SETTING,
  CHECKPOINT_KEEP: { kind: 'int', default: 3, min: 1, max: 1_000 },
  CHECKPOINT_INLINE_MAX_BYTES: { kind: 'int', default: 262_144, min: 0, max: 64 * 1024 * 1024 },
  BLOB_STORE: { kind: 'enum', default: BLOB_STORES.fs, values: Object.values(BLOB_STORES) },
  BLOB_DIR: { kind: 'string', default: '.data/blobs' },
  S3_ENDPOINT: {
    kind: 'url',
    protocols: ['http:', 'https:'],
    example: 'https://s3.eu-west-1.amazonaws.com',
  },
  S3_BUCKET: {
    kind: 'string',
    pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    example: 'niyanta-checkpoints',
  },
  S3_REGION: { kind: 'string', pattern: /^[a-z0-9-]+$/, example: 'eu-west-1' },
  CHECKPOINT_TTL_AFTER_END_HOURS: { kind: 'number', default: 168, min: 0, max: 24 * 3_650 },
} as const;

/** The checkpoint service's configuration. */
export type Config = Omit<ConfigOf<typeof SPEC>, 'BLOB_STORE'> & { BLOB_STORE: BlobStoreKind };

const S3_SETTINGS = ['S3_ENDPOINT', 'S3_BUCKET', 'S3_REGION'] as const;

/** The cross-field rules; returns every problem (empty when the configuration is consistent). */
export function crossFieldProblems(config: Config): string[] {
  if (config.BLOB_STORE !== BLOB_STORES.s3) return [];
  const missing = S3_SETTINGS.filter((name) => config[name] === undefined);
  if (missing.length === 0) return [];
  return [
    `BLOB_STORE is s3 but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set: ` +
      `checkpoints larger than CHECKPOINT_INLINE_MAX_BYTES would have nowhere to go. ` +
      `Set ${S3_SETTINGS.join(', ')}, or use BLOB_STORE=fs with BLOB_DIR.`,
  ];
}

/** Reads and validates the environment; throws `ConfigError` naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const config = parseConfig(SPEC, env) as Config;
  const problems = crossFieldProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
