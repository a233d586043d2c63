#!/usr/bin/env node
// `npm run bench -- --scenario <name> [--n N] [--workers N] ...`: builds (tsc -b, incremental:
// seconds when nothing changed; the bench runs the built services), then runs bench/dist/main.js
// with the arguments. NIYANTA_BENCH_SKIP_BUILD=1 skips the build when dist/ is current.
import fs from 'node:fs';
import path from 'node:path';
import { fail } from './lib/log.mjs';
import { localBin, run, signalForeground } from './lib/run.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const MAIN = path.join(ROOT, 'bench', 'dist', 'main.js');

// Ctrl-C reaches the bench directly (same process group): it stops its servers itself.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => signalForeground('SIGTERM'));

const skipBuild = /^(1|true|yes)$/i.test(process.env.NIYANTA_BENCH_SKIP_BUILD ?? '');
if (!skipBuild || !fs.existsSync(MAIN)) {
  const code = await run(localBin(ROOT, 'tsc'), ['-b'], { cwd: ROOT });
  if (code !== 0) {
    fail(
      `build failed (tsc -b exit code ${code}): fix it, or set NIYANTA_BENCH_SKIP_BUILD=1 to run the last build`,
    );
    process.exit(code);
  }
}
process.exitCode = await run(process.execPath, [MAIN, ...process.argv.slice(2)], { cwd: ROOT });
