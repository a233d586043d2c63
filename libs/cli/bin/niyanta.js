#!/usr/bin/env node
let cli;
try {
  cli = await import('../dist/index.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  process.stderr.write('niyanta is not built yet: run `npm run build` in the repository first.\n');
  process.exit(2);
}
process.exitCode = await cli.main(process.argv.slice(2));
