// Jest loads this file with Node's own `require` (through its transform hook), not through its
// module registry: `moduleNameMapper` does not apply, so `./x.js` and `@niyanta/*` would not
// resolve to the TypeScript sources. This file therefore imports only node builtins statically,
// maps those requests to the sources for the duration of the setup, then imports the rest.
import { existsSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join, resolve } from 'node:path';

type ResolveFilename = (
  request: string,
  parent: { filename?: string | null } | undefined,
  ...rest: unknown[]
) => string;

const GLOBAL_KEY = Symbol.for('niyanta.testing.globalPostgres');

function resolveToSources(): () => void {
  const loader = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = loader._resolveFilename;
  const here = typeof __dirname === 'string' ? __dirname : import.meta.dirname;
  const libs = resolve(here, '..', '..');
  loader._resolveFilename = function (this: unknown, request, parent, ...rest) {
    const lib = /^@niyanta\/([a-z-]+)$/.exec(request)?.[1];
    const libEntry = lib === undefined ? undefined : join(libs, lib, 'src', 'index.ts');
    if (libEntry !== undefined && existsSync(libEntry)) return libEntry;
    const from = parent?.filename;
    if (from?.endsWith('.ts') && /^\.\.?\//.test(request) && request.endsWith('.js')) {
      const source = resolve(dirname(from), `${request.slice(0, -3)}.ts`);
      if (existsSync(source)) return source;
    }
    return original.call(this, request, parent, ...rest);
  };
  return () => {
    loader._resolveFilename = original;
  };
}

/** Jest global setup: PostgreSQL with a migrated template database for the integration tests. */
export default async function globalSetup(globalConfig: {
  selectProjects?: string[];
}): Promise<void> {
  // Unit tests need no servers; skip the second it takes when only they run.
  const projects = globalConfig.selectProjects;
  if (projects !== undefined && projects.every((name) => name === 'unit')) return;
  const restore = resolveToSources();
  try {
    const { setUpGlobalPostgres } = await import('./global-postgres.js');
    (globalThis as Record<symbol, unknown>)[GLOBAL_KEY] = await setUpGlobalPostgres();
  } finally {
    restore();
  }
}
