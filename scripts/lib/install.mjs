// Installing the repo's npm dependencies when they are missing or older than the lock file.
import fs from 'node:fs';
import path from 'node:path';
import { ScriptError } from './errors.mjs';
import { done, step } from './log.mjs';
import { run } from './run.mjs';

function mtimeMs(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Why dependencies must be installed, or undefined when node_modules is current. */
export function installReason(root) {
  const modules = path.join(root, 'node_modules');
  if (!fs.existsSync(modules)) return 'node_modules is missing';
  const lock = mtimeMs(path.join(root, 'package-lock.json'));
  // npm rewrites node_modules/.package-lock.json on every install; the directory's own mtime
  // only changes when a top-level entry is added, so it is not a reliable "installed at".
  const installed = mtimeMs(path.join(modules, '.package-lock.json')) ?? mtimeMs(modules);
  if (lock !== undefined && installed !== undefined && installed < lock) {
    return 'package-lock.json is newer than node_modules';
  }
  return undefined;
}

/** Runs `npm ci` (or `npm install` without a lock file) when `installReason` says so. */
export async function ensureDependencies(root) {
  const reason = installReason(root);
  if (!reason) return;
  if (fs.lstatSync(path.join(root, 'node_modules'), { throwIfNoEntry: false })?.isSymbolicLink()) {
    // npm ci empties node_modules first, which would wipe the directory the link points to.
    throw new ScriptError(
      `node_modules is a symbolic link and ${reason}. Install in the directory it points to yourself; this script will not run npm ci through a link.`,
    );
  }
  const hasLock = fs.existsSync(path.join(root, 'package-lock.json'));
  const args = hasLock ? ['ci'] : ['install'];
  step(`Installing dependencies: ${reason} (npm ${args[0]}, a minute or two on a fresh clone)`);
  const code = await run('npm', args, { cwd: root });
  if (code !== 0) {
    throw new ScriptError(
      `npm ${args[0]} failed with exit code ${code}. Read npm's output above, fix it (network, lock file), then run this again.`,
    );
  }
  done('Dependencies installed');
}
