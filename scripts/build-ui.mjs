#!/usr/bin/env node
// Builds the web dashboard the API serves at /ui: services/api/ui/main.ts bundled by esbuild
// into services/api/dist/ui/app.js (one ES module, no source from anywhere but this repo),
// with app.css and icon.svg beside it. `npm run build`, `npm test` and `npm run dev` run it
// after `tsc -b`, which type-checks the same sources (services/api/ui/tsconfig.json).
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'services/api/ui');
const OUT = path.join(ROOT, 'services/api/dist/ui');

/** Builds the bundle; throws with esbuild's messages when it fails. */
export async function buildUi({ minify = true } = {}) {
  // Imported here: `npm run dev` and `npm test` load this file before they install dependencies.
  const { build } = await import('esbuild');
  fs.mkdirSync(OUT, { recursive: true });
  await build({
    entryPoints: [path.join(SRC, 'main.ts')],
    outfile: path.join(OUT, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const file of ['app.css', 'icon.svg']) {
    fs.copyFileSync(path.join(SRC, file), path.join(OUT, file));
  }
  return OUT;
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const out = await buildUi();
  console.log(`dashboard built in ${path.relative(ROOT, out)}`);
}
