import type { Readable } from 'node:stream';

/** What a stored blob is: its key, bytes and hex SHA-256. */
export interface BlobRef {
  key: string;
  size: number;
  sha256: string;
}

/** What a caller knows of a body before uploading it; checked against what was written. */
export interface PutOptions {
  size?: number;
  sha256?: string;
}

/**
 * Object storage for data too large for a broker message (checkpoints). Keys are `/`-separated
 * paths; a put is atomic (readers see the whole object or none).
 */
export interface BlobStore {
  /** Stores `body` under `key`, measuring size and sha256 as it streams; a stated mismatch stores nothing. */
  put(key: string, body: Buffer | Readable, opts?: PutOptions): Promise<BlobRef>;
  /** The whole blob; throws `BlobNotFoundError` when there is none. */
  get(key: string): Promise<Buffer>;
  /** Its size, or undefined when there is no such blob. */
  head(key: string): Promise<{ size: number } | undefined>;
  /** Deletes the blobs; keys without a blob are ignored. */
  delete(keys: readonly string[]): Promise<void>;
  /** Every key that starts with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Releases connections; idempotent. */
  close(): Promise<void>;
}
