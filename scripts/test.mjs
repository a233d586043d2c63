#!/usr/bin/env node
// `npm test`: everything CI checks, in order, stopping at the first failure.
//
//   install    npm ci when node_modules is missing or older than package-lock.json
//   nats       nats-server available (installed with apt-get as root on Debian, else explained)
//   chromium   Chromium for the dashboard's browser tests (the same way)
//   redis      redis-server for the bench's BullMQ peer and its tests (the same way)
//   build      tsc -b (type-check + build: e2e tests run the built services), then the
//              dashboard bundle (scripts/build-ui.mjs)
//   typecheck-tests  tsc -p tsconfig.tests.json (the tests, which swc runs without type-checking)
//   gen-types  node scripts/gen-types.mjs --check (generated message types match schemas/)
//   eslint     eslint .
//   prettier   prettier --check .
//   jest       jest [--ci when CI=true] [extra args: `npm test -- services/api`]
//
// Tests start their own nats-server and PostgreSQL on free ports (or use NATS_URL /
// DATABASE_URL when set).
import fs from 'node:fs';
import path from 'node:path';
import { ScriptError } from './lib/errors.mjs';
import { ensureDependencies } from './lib/install.mjs';
import { color, done, fail, step } from './lib/log.mjs';
import { ensureChromium } from './lib/chromium.mjs';
import { ensureNatsServer } from './lib/nats-server.mjs';
import { ensureRedisServer } from './lib/redis-server.mjs';
import { buildUi } from './build-ui.mjs';
import { localBin, run, signalForeground } from './lib/run.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const extraArgs = process.argv.slice(2);
const isCi = /^(1|true|yes)$/i.test(process.env.CI ?? '');

/** Each step: name, then a function that throws a ScriptError (or returns an exit code). */
const steps = [
  ['install', () => ensureDependencies(ROOT)],
  ['nats', async () => done(`nats-server: ${await ensureNatsServer()}`)],
  ['chromium', async () => done(`chromium: ${await ensureChromium()}`)],
  ['redis', async () => done(`redis-server: ${await ensureRedisServer()}`)],
  [
    'build',
    async () => {
      const code = await run(localBin(ROOT, 'tsc'), ['-b'], { cwd: ROOT });
      if (code === 0) await buildUi();
      return code;
    },
  ],
  [
    'typecheck-tests',
    () => run(localBin(ROOT, 'tsc'), ['-p', 'tsconfig.tests.json'], { cwd: ROOT }),
  ],
  [
    'gen-types',
    () => {
      const script = path.join(ROOT, 'scripts', 'gen-types.mjs');
      if (!fs.existsSync(script)) return 0;
      return run(process.execPath, [script, '--check'], { cwd: ROOT });
    },
  ],
  ['eslint', () => run(localBin(ROOT, 'eslint'), ['.'], { cwd: ROOT })],
  ['prettier', () => run(localBin(ROOT, 'prettier'), ['--check', '.'], { cwd: ROOT })],
  [
    'jest',
    () => run(localBin(ROOT, 'jest'), [...(isCi ? ['--ci'] : []), ...extraArgs], { cwd: ROOT }),
  ],
];

// The terminal's Ctrl-C reaches the running step directly (same process group); we only
// report how it ended. SIGTERM from a CI runner is passed on.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => signalForeground('SIGTERM'));

async function main() {
  const started = Date.now();
  for (const [name, action] of steps) {
    step(`npm test: ${name}`);
    let code;
    try {
      code = (await action()) ?? 0;
    } catch (err) {
      fail(err instanceof ScriptError ? err.message : String(err.stack ?? err));
      code = 1;
    }
    if (code !== 0) {
      fail(`npm test failed at step "${name}" (exit code ${code})`);
      process.exit(code);
    }
  }
  done(color.bold(`npm test passed (${Math.round((Date.now() - started) / 1000)} s)`));
}

await main();
