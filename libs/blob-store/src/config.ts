import { ConfigError } from '@niyanta/runtime';
import type { ConfigOf, Setting } from '@niyanta/runtime';
import type { BlobStore } from './blob-store.js';
import { createFsBlobStore } from './fs-blob-store.js';
import { createS3BlobStore } from './s3-blob-store.js';

/** The blob store backends. */
export const BLOB_STORES = { fs: 'fs', s3: 's3' } as const;
export type BlobStoreKind = (typeof BLOB_STORES)[keyof typeof BLOB_STORES];

/** The blob store's settings, for `parseConfig`; check `blobConfigProblems` after parsing. */
export const BLOB_SETTINGS = {
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
} as const satisfies Record<string, Setting>;

/** The parsed blob store settings. */
export type BlobConfig = Omit<ConfigOf<typeof BLOB_SETTINGS>, 'BLOB_STORE'> & {
  BLOB_STORE: BlobStoreKind;
};

const S3_REQUIRED = ['S3_BUCKET', 'S3_REGION'] as const;

/** The cross-field rules of the blob settings: every problem, empty when consistent. */
export function blobConfigProblems(config: BlobConfig): string[] {
  if (config.BLOB_STORE !== BLOB_STORES.s3) return [];
  const missing = S3_REQUIRED.filter((name) => config[name] === undefined);
  if (missing.length === 0) return [];
  return [
    `BLOB_STORE is s3 but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set: ` +
      `checkpoints larger than CHECKPOINT_INLINE_MAX_BYTES would have nowhere to go. ` +
      `Set ${S3_REQUIRED.join(' and ')} (and S3_ENDPOINT for a non-AWS server), or use BLOB_STORE=fs with BLOB_DIR.`,
  ];
}

/**
 * The blob store the settings describe. S3 credentials come from the SDK's default chain
 * (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance roles). Throws `ConfigError`
 * when the settings are inconsistent.
 */
export function createBlobStore(config: BlobConfig): BlobStore {
  const problems = blobConfigProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  if (config.BLOB_STORE === BLOB_STORES.fs) return createFsBlobStore({ dir: config.BLOB_DIR });
  return createS3BlobStore({
    bucket: config.S3_BUCKET!,
    region: config.S3_REGION!,
    ...(config.S3_ENDPOINT === undefined ? {} : { endpoint: config.S3_ENDPOINT }),
  });
}
