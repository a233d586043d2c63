import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobRef, BlobStore, PutOptions } from './blob-store.js';
import { BlobBackendError, BlobIntegrityError, BlobNotFoundError } from './errors.js';
import { assertValidKey, assertValidPrefix } from './keys.js';
import { matches, Measure } from './measure.js';

/** S3's smallest multipart part (except the last); bodies up to this go in one PutObject. */
export const S3_MIN_PART_BYTES = 5 * 1024 * 1024;
/** DeleteObjects takes at most this many keys per call. */
const DELETE_BATCH = 1_000;
const UPLOAD_QUEUE_SIZE = 4;

/** Where the S3 backend stores blobs. */
export interface S3BlobStoreOptions {
  bucket: string;
  region: string;
  /** Any S3-compatible endpoint (MinIO, s3rver); unset: AWS's endpoint for the region. */
  endpoint?: string;
  /** Unset: the SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Multipart part size; bodies larger than one part are uploaded in parts. Default 8 MiB. */
  partSizeBytes?: number;
}

const isNotFound = (err: unknown): boolean =>
  err instanceof S3ServiceException &&
  (err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404);

/** A blob store in an S3 bucket: multipart upload for big bodies, path-style addressing. */
export function createS3BlobStore(opts: S3BlobStoreOptions): BlobStore {
  const { bucket } = opts;
  const client = new S3Client({
    region: opts.region,
    ...(opts.endpoint === undefined ? {} : { endpoint: opts.endpoint }),
    ...(opts.credentials === undefined ? {} : { credentials: opts.credentials }),
    // Path-style works on every S3-compatible server; virtual-host style needs DNS per bucket.
    forcePathStyle: true,
    // The newer default (CRC32 trailers on every request) is not understood by older
    // S3-compatible servers; integrity is checked with our own sha256 anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const partSize = Math.max(opts.partSizeBytes ?? 8 * 1024 * 1024, S3_MIN_PART_BYTES);

  const put = async (key: string, body: Buffer | Readable, stated?: PutOptions) => {
    assertValidKey(key);
    const measure = new Measure();
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    const upload = new Upload({
      client,
      params: { Bucket: bucket, Key: key, Body: measure },
      partSize,
      queueSize: UPLOAD_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      await Promise.all([pipeline(source, measure), upload.done()]);
    } catch (err) {
      measure.destroy();
      await upload.abort().catch(() => undefined);
      throw new BlobBackendError('put', key, { cause: err });
    }
    const actual = measure.result();
    if (!matches(stated, actual)) {
      // S3 has no atomic compare-and-put: the object existed briefly, and is removed at once.
      await deleteKeys([key]);
      throw new BlobIntegrityError(key, stated ?? {}, actual);
    }
    return { key, ...actual } satisfies BlobRef;
  };

  const deleteKeys = async (keys: readonly string[]): Promise<void> => {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      let result;
      try {
        result = await client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
      } catch (err) {
        throw new BlobBackendError('delete', batch[0]!, { cause: err });
      }
      const failed = (result.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new BlobBackendError('delete', first.Key ?? batch[0]!, {
          cause: new Error(
            `${failed.length} key(s) not deleted; first: ${first.Code} ${first.Message}`,
          ),
        });
      }
    }
  };

  let closed = false;
  return {
    put,
    async get(key) {
      assertValidKey(key);
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (out.Body === undefined) return Buffer.alloc(0);
        return Buffer.from(await out.Body.transformToByteArray());
      } catch (err) {
        if (isNotFound(err)) throw new BlobNotFoundError(key, { cause: err });
        throw new BlobBackendError('get', key, { cause: err });
      }
    },
    async head(key) {
      assertValidKey(key);
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { size: out.ContentLength ?? 0 };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw new BlobBackendError('head', key, { cause: err });
      }
    },
    async delete(keys) {
      for (const key of keys) assertValidKey(key);
      await deleteKeys(keys);
    },
    async list(prefix) {
      assertValidPrefix(prefix);
      const keys: string[] = [];
      let token: string | undefined;
      try {
        do {
          const out = await client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              ...(prefix === '' ? {} : { Prefix: prefix }),
              ...(token === undefined ? {} : { ContinuationToken: token }),
            }),
          );
          for (const o of out.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
          token = out.IsTruncated ? out.NextContinuationToken : undefined;
        } while (token !== undefined);
      } catch (err) {
        throw new BlobBackendError('list', prefix, { cause: err });
      }
      return keys.sort();
    },
    async close() {
      if (closed) return;
      closed = true;
      client.destroy();
    },
  };
}
