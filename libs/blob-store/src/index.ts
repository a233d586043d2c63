export type { BlobRef, BlobStore, PutOptions } from './blob-store.js';
export {
  BlobBackendError,
  BlobIntegrityError,
  BlobNotFoundError,
  BlobStoreError,
  InvalidBlobKeyError,
} from './errors.js';
export { assertValidKey } from './keys.js';
export { createFsBlobStore } from './fs-blob-store.js';
export { createS3BlobStore, S3_MIN_PART_BYTES } from './s3-blob-store.js';
export type { S3BlobStoreOptions } from './s3-blob-store.js';
export { BLOB_SETTINGS, BLOB_STORES, blobConfigProblems, createBlobStore } from './config.js';
export type { BlobConfig, BlobStoreKind } from './config.js';
export {
  CHECKPOINT_BLOB_ROOT,
  checkpointBlobKey,
  checkpointBlobPrefix,
} from './checkpoint-keys.js';
