import { ConfigError } from '@niyanta/runtime';
import { loadConfig } from '../src/config.js';
import { judge } from '../src/checkpoint-handler.js';

const DATABASE_URL = 'postgres://niyanta@localhost:5432/niyanta';

describe('loadConfig', () => {
  it('applies the defaults', () => {
    expect(loadConfig({ DATABASE_URL })).toMatchObject({
      CHECKPOINT_KEEP: 3,
      CHECKPOINT_INLINE_MAX_BYTES: 262_144,
      BLOB_STORE: 'fs',
      BLOB_DIR: '.data/blobs',
      CHECKPOINT_TTL_AFTER_END_HOURS: 168,
      WORKLOAD_RETENTION_DAYS: 30,
    });
  });

  it('requires the S3 settings when BLOB_STORE is s3, naming the missing ones', () => {
    let error: unknown;
    try {
      loadConfig({ DATABASE_URL, BLOB_STORE: 's3', S3_ENDPOINT: 'http://127.0.0.1:9000' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(/^BLOB_STORE is s3 but S3_BUCKET, S3_REGION are not set/),
    ]);
  });

  it('accepts a complete S3 configuration', () => {
    const config = loadConfig({
      DATABASE_URL,
      BLOB_STORE: 's3',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_BUCKET: 'niyanta',
      S3_REGION: 'us-east-1',
    });
    expect(config).toMatchObject({
      BLOB_STORE: 's3',
      S3_BUCKET: 'niyanta',
      S3_REGION: 'us-east-1',
    });
  });

  it('refuses an unknown blob store and a keep below one', () => {
    expect(() => loadConfig({ DATABASE_URL, BLOB_STORE: 'ftp', CHECKPOINT_KEEP: '0' })).toThrow(
      /CHECKPOINT_KEEP is 0, below the minimum 1[\s\S]*BLOB_STORE is "ftp". Expected one of: fs, s3/,
    );
  });
});

describe('checkpoint fencing', () => {
  it('stores the current attempt of a scheduled or running workload', () => {
    expect(judge({ attempt: 2 }, { attempt: 2, status: 'RUNNING' }, 1)).toEqual({
      action: 'store',
    });
    expect(judge({ attempt: 2 }, { attempt: 2, status: 'SCHEDULED' }, 1)).toEqual({
      action: 'store',
    });
  });

  it('discards a stale attempt, a finished workload and an unknown one', () => {
    expect(judge({ attempt: 1 }, { attempt: 2, status: 'RUNNING' }, 1)).toMatchObject({
      action: 'discard',
      reason: expect.stringMatching(/stale/),
    });
    expect(judge({ attempt: 2 }, { attempt: 2, status: 'COMPLETED' }, 1)).toMatchObject({
      action: 'discard',
      reason: 'the workload is COMPLETED',
    });
    // A PENDING row on the same attempt is a run that just stopped (stored); a row no run ever
    // wrote to is not.
    expect(judge({ attempt: 2 }, { attempt: 2, status: 'SUBMITTED' }, 1)).toMatchObject({
      action: 'discard',
      reason: 'the workload is SUBMITTED',
    });
    expect(judge({ attempt: 1 }, undefined, 1)).toMatchObject({
      action: 'discard',
      reason: 'no such workload',
    });
  });

  it('retries an attempt ahead of the workload a few times, then gives up', () => {
    expect(judge({ attempt: 3 }, { attempt: 2, status: 'RUNNING' }, 1)).toMatchObject({
      action: 'retry',
    });
    expect(judge({ attempt: 3 }, { attempt: 2, status: 'RUNNING' }, 10)).toMatchObject({
      action: 'discard',
    });
  });
});
