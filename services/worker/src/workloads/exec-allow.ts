import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { ExecAllowError } from '../errors.js';

/** WORKER_EXEC_ALLOW resolved: each listed entry (name or absolute path) to the program it runs. */
export type ExecAllowList = ReadonlyMap<string, string>;

/**
 * Resolves the entries of WORKER_EXEC_ALLOW once, at start-up: an absolute path stands for
 * itself, a bare name for the first executable of that name on `path` (the worker's PATH).
 * Throws {@link ExecAllowError} naming every bare name that is not found. Relative paths are
 * refused earlier, by the config.
 */
export function resolveExecAllow(entries: readonly string[], path: string): ExecAllowList {
  const resolved = new Map<string, string>();
  const missing: string[] = [];
  for (const entry of entries) {
    if (isAbsolute(entry)) resolved.set(entry, entry);
    else {
      const found = findOnPath(entry, path);
      if (found === undefined) missing.push(entry);
      else resolved.set(entry, found);
    }
  }
  if (missing.length > 0) throw new ExecAllowError(missing);
  return resolved;
}

function findOnPath(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    // An empty entry means the current directory: never a place to find an allowed program.
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return undefined;
}
