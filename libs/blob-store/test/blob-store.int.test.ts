import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startS3Server } from '@niyanta/testing';
import type { S3Handle } from '@niyanta/testing';
import {
  BlobIntegrityError,
  BlobNotFoundError,
  createBlobStore,
  createFsBlobStore,
  createS3BlobStore,
  InvalidBlobKeyError,
  S3_MIN_PART_BYTES,
} from '../src/index.js';
import type { BlobStore } from '../src/index.js';

jest.setTimeout(60_000);

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A stream of `total` random bytes in chunks, and the same bytes as one buffer. */
function randomBody(total: number, chunk = 256 * 1024): { stream: Readable; bytes: Buffer } {
  const bytes = randomBytes(total);
  const chunks: Buffer[] = [];
  for (let at = 0; at < total; at += chunk) chunks.push(bytes.subarray(at, at + chunk));
  return { stream: Readable.from(chunks), bytes };
}

interface Backend {
  name: string;
  open(): Promise<{ store: BlobStore; cleanup(): Promise<void> }>;
}

let s3: S3Handle;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});

const backends: Backend[] = [
  {
    name: 'fs',
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'blob-store-'));
      const store = createFsBlobStore({ dir });
      return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 's3',
    async open() {
      const store = createS3BlobStore({
        bucket: s3.bucket,
        region: s3.region,
        endpoint: s3.endpoint,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        partSizeBytes: S3_MIN_PART_BYTES,
      });
      return {
        store,
        async cleanup() {
          await store.delete(await store.list(''));
          await store.close();
        },
      };
    },
  },
];

describe.each(backends)('$name blob store', (backend) => {
  let store: BlobStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await backend.open());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('puts, heads, gets, lists and deletes byte-exact', async () => {
    const a = randomBytes(10_000);
    const b = Buffer.from('{"step":1}');
    const refA = await store.put('checkpoints/w1/1-1.json', a);
    expect(refA).toEqual({ key: 'checkpoints/w1/1-1.json', size: a.length, sha256: sha256(a) });
    await store.put('checkpoints/w1/1-2.json', b, { size: b.length, sha256: sha256(b) });
    await store.put('checkpoints/w2/1-1.json', Buffer.alloc(0));
    await store.put('other/x', b);

    expect((await store.get('checkpoints/w1/1-1.json')).equals(a)).toBe(true);
    expect((await store.get('checkpoints/w2/1-1.json')).length).toBe(0);
    expect(await store.head('checkpoints/w1/1-2.json')).toEqual({ size: b.length });
    expect(await store.head('checkpoints/w1/9-9.json')).toBeUndefined();
    expect(await store.list('checkpoints/')).toEqual([
      'checkpoints/w1/1-1.json',
      'checkpoints/w1/1-2.json',
      'checkpoints/w2/1-1.json',
    ]);
    expect(await store.list('checkpoints/w1/')).toEqual([
      'checkpoints/w1/1-1.json',
      'checkpoints/w1/1-2.json',
    ]);
    expect(await store.list('checkpoints/w1/1-2')).toEqual(['checkpoints/w1/1-2.json']);

    await store.delete(['checkpoints/w1/1-1.json', 'checkpoints/w1/never-there.json']);
    expect(await store.head('checkpoints/w1/1-1.json')).toBeUndefined();
    await expect(store.get('checkpoints/w1/1-1.json')).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await store.list('')).toEqual([
      'checkpoints/w1/1-2.json',
      'checkpoints/w2/1-1.json',
      'other/x',
    ]);
  });

  it('overwrites a key with the new body', async () => {
    await store.put('k/v', Buffer.from('first'));
    await store.put('k/v', Buffer.from('second, longer'));
    expect((await store.get('k/v')).toString()).toBe('second, longer');
  });

  it('uploads a stream larger than one part (multipart) byte-exact, measuring it on the way', async () => {
    const total = 2 * S3_MIN_PART_BYTES + 12_345;
    const { stream, bytes } = randomBody(total);
    const ref = await store.put('checkpoints/big/1-1.json', stream);
    expect(ref).toEqual({ key: 'checkpoints/big/1-1.json', size: total, sha256: sha256(bytes) });
    expect(await store.head(ref.key)).toEqual({ size: total });
    const back = await store.get(ref.key);
    expect(back.length).toBe(total);
    expect(sha256(back)).toBe(sha256(bytes));
  });

  it('stores nothing when the body differs from the stated size or sha256', async () => {
    const body = Buffer.from('the real body');
    await expect(
      store.put('k/bad-sha', body, { sha256: sha256(Buffer.from('something else')) }),
    ).rejects.toBeInstanceOf(BlobIntegrityError);
    await expect(store.put('k/bad-size', body, { size: body.length + 1 })).rejects.toThrow(
      /is 13 bytes with sha256 [0-9a-f]{64}, but 14 bytes was stated/,
    );
    expect(await store.list('k/')).toEqual([]);
  });

  it.each(['', '/abs', 'a/../b', '..', 'a//b', 'a/.hidden', 'a\\b', 'a/'])(
    'refuses the unsafe key %j',
    async (key) => {
      await expect(store.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidBlobKeyError);
      await expect(store.get(key)).rejects.toBeInstanceOf(InvalidBlobKeyError);
    },
  );
});

describe('fs blob store', () => {
  it('leaves no temp files or empty directories behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'blob-store-'));
    try {
      const store = createFsBlobStore({ dir });
      await store.put('checkpoints/w/1-1.json', Buffer.from('a'));
      await expect(
        store.put('checkpoints/w/1-2.json', Buffer.from('a'), { size: 5 }),
      ).rejects.toThrow(BlobIntegrityError);
      expect(await readdir(join(dir, '.tmp'))).toEqual([]);
      await store.delete(['checkpoints/w/1-1.json']);
      expect(await readdir(dir)).toEqual(['.tmp']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('createBlobStore', () => {
  it('creates the backend the settings name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'blob-store-'));
    try {
      const store = createBlobStore({
        BLOB_STORE: 'fs',
        BLOB_DIR: dir,
        S3_ENDPOINT: undefined,
        S3_BUCKET: undefined,
        S3_REGION: undefined,
      });
      await store.put('a/b', Buffer.from('fs'));
      expect(await readdir(join(dir, 'a'))).toEqual(['b']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reaches an S3 server with credentials from the standard AWS variables', async () => {
    const saved = { ...process.env };
    process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
    try {
      const store = createBlobStore({
        BLOB_STORE: 's3',
        BLOB_DIR: '.data/blobs',
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: s3.bucket,
        S3_REGION: s3.region,
      });
      await store.put('env/creds', Buffer.from('s3'));
      expect((await store.get('env/creds')).toString()).toBe('s3');
      await store.delete(['env/creds']);
      await store.close();
    } finally {
      process.env = saved;
    }
  });
});
