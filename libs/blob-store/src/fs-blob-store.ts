import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobRef, BlobStore, PutOptions } from './blob-store.js';
import { BlobBackendError, BlobIntegrityError, BlobNotFoundError } from './errors.js';
import { assertValidKey, assertValidPrefix } from './keys.js';
import { matches, Measure } from './measure.js';

/** Temp files live here, inside the root (same filesystem, so rename is atomic); keys never start with ".". */
const TEMP_DIR = '.tmp';

const isNotFound = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** A blob store in a local directory: one file per key, written to a temp file then renamed. */
export function createFsBlobStore(opts: { dir: string }): BlobStore {
  const root = resolve(opts.dir);
  const pathOf = (key: string): string => {
    assertValidKey(key);
    const path = join(root, ...key.split('/'));
    // assertValidKey already refuses "..": this is the belt to its braces.
    if (!path.startsWith(root + sep)) throw new BlobBackendError('resolve', key, { cause: path });
    return path;
  };

  const put = async (key: string, body: Buffer | Readable, stated?: PutOptions) => {
    const path = pathOf(key);
    const temp = join(root, TEMP_DIR, `${randomBytes(8).toString('hex')}.part`);
    const measure = new Measure();
    try {
      await mkdir(join(root, TEMP_DIR), { recursive: true });
      const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
      await pipeline(source, measure, createWriteStream(temp));
    } catch (err) {
      await rm(temp, { force: true });
      throw new BlobBackendError('put', key, { cause: err });
    }
    const actual = measure.result();
    if (!matches(stated, actual)) {
      await rm(temp, { force: true });
      throw new BlobIntegrityError(key, stated ?? {}, actual);
    }
    try {
      await mkdir(dirname(path), { recursive: true });
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw new BlobBackendError('put', key, { cause: err });
    }
    return { key, ...actual } satisfies BlobRef;
  };

  const removeEmptyParents = async (path: string): Promise<void> => {
    // Keeps `checkpoints/<workloadId>/` directories from piling up; stops at the first non-empty one.
    for (let dir = dirname(path); dir.startsWith(root + sep); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        return;
      }
    }
  };

  const walk = async (dir: string, prefix: string, out: string[]): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const key = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) await walk(join(dir, entry.name), key, out);
      else if (entry.isFile()) out.push(key);
    }
  };

  return {
    put,
    async get(key) {
      const path = pathOf(key);
      try {
        return await readFile(path);
      } catch (err) {
        if (isNotFound(err)) throw new BlobNotFoundError(key, { cause: err });
        throw new BlobBackendError('get', key, { cause: err });
      }
    },
    async head(key) {
      const path = pathOf(key);
      try {
        const info = await stat(path);
        return info.isFile() ? { size: info.size } : undefined;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw new BlobBackendError('head', key, { cause: err });
      }
    },
    async delete(keys) {
      const paths = keys.map((key) => pathOf(key));
      for (const [i, path] of paths.entries()) {
        try {
          await rm(path, { force: true });
        } catch (err) {
          throw new BlobBackendError('delete', keys[i]!, { cause: err });
        }
        await removeEmptyParents(path);
      }
    },
    async list(prefix) {
      assertValidPrefix(prefix);
      // Walk only below the deepest directory the prefix names, then filter by the rest.
      const cut = prefix.lastIndexOf('/');
      const base = cut < 0 ? '' : prefix.slice(0, cut);
      const out: string[] = [];
      try {
        await walk(base === '' ? root : join(root, ...base.split('/')), base, out);
      } catch (err) {
        throw new BlobBackendError('list', prefix, { cause: err });
      }
      return out.filter((key) => key.startsWith(prefix)).sort();
    },
    async close() {},
  };
}
