import { ConfigError, parseConfig } from '@niyanta/runtime';
import { BLOB_SETTINGS, blobConfigProblems, createBlobStore } from '../src/index.js';
import type { BlobConfig } from '../src/index.js';

const parse = (env: Record<string, string>): BlobConfig =>
  parseConfig(BLOB_SETTINGS, env) as BlobConfig;

describe('BLOB_SETTINGS', () => {
  it('defaults to the filesystem under .data/blobs', () => {
    const config = parse({});
    expect(config).toMatchObject({ BLOB_STORE: 'fs', BLOB_DIR: '.data/blobs' });
    expect(blobConfigProblems(config)).toEqual([]);
  });

  it('needs S3_BUCKET and S3_REGION for s3, naming the missing ones', () => {
    expect(blobConfigProblems(parse({ BLOB_STORE: 's3' }))).toEqual([
      expect.stringMatching(/^BLOB_STORE is s3 but S3_BUCKET, S3_REGION are not set/),
    ]);
    expect(blobConfigProblems(parse({ BLOB_STORE: 's3', S3_BUCKET: 'niyanta' }))).toEqual([
      expect.stringMatching(/^BLOB_STORE is s3 but S3_REGION is not set/),
    ]);
    expect(() => createBlobStore(parse({ BLOB_STORE: 's3', S3_REGION: 'eu-west-1' }))).toThrow(
      ConfigError,
    );
  });

  it('accepts s3 without an endpoint (AWS) and refuses malformed values', () => {
    expect(
      blobConfigProblems(parse({ BLOB_STORE: 's3', S3_BUCKET: 'niyanta', S3_REGION: 'eu-west-1' })),
    ).toEqual([]);
    expect(() => parse({ BLOB_STORE: 'ftp', S3_ENDPOINT: 'ftp://x', S3_BUCKET: 'A' })).toThrow(
      /BLOB_STORE is "ftp"[\s\S]*S3_ENDPOINT has scheme "ftp:"[\s\S]*S3_BUCKET is malformed/,
    );
  });
});
