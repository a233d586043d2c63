import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TestingError } from './errors.js';

/** Directory of this module, in the ESM build and in jest's CommonJS transform alike. */
export function moduleDir(): string {
  return typeof __dirname === 'string' ? __dirname : import.meta.dirname;
}

/** The repository root: the nearest ancestor of this module holding tsconfig.base.json. */
export function repoRoot(): string {
  let dir = moduleDir();
  for (;;) {
    if (existsSync(join(dir, 'tsconfig.base.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new TestingError(
        `No tsconfig.base.json above ${moduleDir()}: @niyanta/testing must run from inside the Niyanta repository.`,
      );
    }
    dir = parent;
  }
}
