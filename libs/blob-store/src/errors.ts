/** Base error of `@niyanta/blob-store`. */
export class BlobStoreError extends Error {
  override name = 'BlobStoreError';
}

/** A key that cannot name a blob safely (empty, absolute, `..`, a hidden segment, too long). */
export class InvalidBlobKeyError extends BlobStoreError {
  override name = 'InvalidBlobKeyError';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(
      `blob key ${JSON.stringify(key)} is invalid: ${reason}. Use "/"-separated segments of visible characters, none empty, "." or starting with "." (e.g. checkpoints/<workloadId>/1-3.json).`,
    );
  }
}

/** `get` of a key that has no blob. */
export class BlobNotFoundError extends BlobStoreError {
  override name = 'BlobNotFoundError';
  constructor(
    readonly key: string,
    options?: { cause: unknown },
  ) {
    super(
      `blob ${JSON.stringify(key)} does not exist. It was never uploaded, or retention deleted it.`,
      options,
    );
  }
}

/** What was written differs from the size or sha256 the caller stated; nothing is kept under the key. */
export class BlobIntegrityError extends BlobStoreError {
  override name = 'BlobIntegrityError';
  constructor(
    readonly key: string,
    readonly expected: { size?: number; sha256?: string },
    readonly actual: { size: number; sha256: string },
  ) {
    super(
      `blob ${JSON.stringify(key)} is ${actual.size} bytes with sha256 ${actual.sha256}, but ${describe(expected)} was stated; it was not stored. Check the body is the one that was measured.`,
    );
  }
}

function describe(expected: { size?: number; sha256?: string }): string {
  const parts: string[] = [];
  if (expected.size !== undefined) parts.push(`${expected.size} bytes`);
  if (expected.sha256 !== undefined) parts.push(`sha256 ${expected.sha256}`);
  return parts.join(' with ');
}

/** The backend failed (I/O, network, permissions); `cause` has the backend's error. */
export class BlobBackendError extends BlobStoreError {
  override name = 'BlobBackendError';
  constructor(
    readonly operation: string,
    readonly key: string,
    options: { cause: unknown },
  ) {
    const cause = options.cause as { message?: unknown } | undefined;
    super(
      `blob store ${operation} of ${JSON.stringify(key)} failed: ${String(cause?.message ?? options.cause)}. Check the blob store is reachable and writable.`,
      options,
    );
  }
}
