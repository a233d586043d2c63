#!/usr/bin/env node
// `npm run fuzz`: a long run of the property-based suite (e2e/test/fuzz), then its figures.
//
//   npm run fuzz                         FUZZ_RUNS=2000 requests and messages, a new seed
//   npm run fuzz -- --runs 10000         more
//   npm run fuzz -- --seed 1234 --runs 2000   replay the run a failure printed
//   npm run fuzz -- broker-fuzz          only the fuzz files matching (other args go to jest)
//
// Steps: build (the e2e tests run the built services), then jest on e2e/test/fuzz in band with
// FUZZ_RUNS, FUZZ_SEED and FUZZ_REPORT_DIR, then a summary of what each suite left there:
// requests and messages sent, 5xx answers, stalled consumers, probe results, dead letters.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScriptError } from './lib/errors.mjs';
import { ensureDependencies } from './lib/install.mjs';
import { color, done, fail, info, step, warn } from './lib/log.mjs';
import { ensureNatsServer } from './lib/nats-server.mjs';
import { localBin, run, signalForeground } from './lib/run.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const DEFAULT_RUNS = 2000;

function parseArgs(argv) {
  const out = {
    runs: process.env.FUZZ_RUNS ?? String(DEFAULT_RUNS),
    seed: process.env.FUZZ_SEED,
    rest: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--runs' || arg === '--seed') {
      const value = argv[++i];
      if (value === undefined || !/^-?\d+$/.test(value))
        throw new ScriptError(
          `${arg} needs an integer (e.g. ${arg} 2000), got ${value ?? 'nothing'}.`,
        );
      out[arg.slice(2)] = value;
    } else out.rest.push(arg);
  }
  if (!/^\d+$/.test(out.runs) || Number(out.runs) < 1)
    throw new ScriptError(`FUZZ_RUNS is "${out.runs}". Expected a positive integer.`);
  return out;
}

/** The arguments that are jest path patterns (not options, nor an option's value). */
function positional(rest) {
  const out = [];
  for (let i = 0; i < rest.length; i++) {
    if (/^(-t|--testNamePattern)$/.test(rest[i])) i++;
    else if (!rest[i].startsWith('-')) out.push(rest[i]);
  }
  return out;
}

function readReports(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
}

function summarize(reports, seconds) {
  step(`fuzz summary (${seconds} s)`);
  if (reports.length === 0) {
    warn('no suite left figures (did jest run the fuzz suites?)');
    return;
  }
  const total = (key) => reports.reduce((n, r) => n + (r[key] ?? 0), 0);
  info(`requests sent:        ${total('requestsSent')}`);
  info(`messages sent:        ${total('messagesSent')}`);
  info(`5xx answers:          ${total('status5xx')}`);
  const stalled = reports.flatMap((r) => r.stalledConsumers ?? []);
  info(`stalled consumers:    ${stalled.length === 0 ? 'none' : stalled.join('; ')}`);
  for (const r of reports) {
    info(color.bold(`${r.suite}: seed ${r.seed}, ${r.runs} runs`));
    if (r.statuses) info(`  answers by status:  ${JSON.stringify(r.statuses)}`);
    for (const p of r.probes ?? [])
      info(
        `  probe ${p.name}: ${p.ok ? color.green('live') : color.red('NOT live')} (${p.ms} ms)${p.failures.map((f) => `\n      - ${f}`).join('')}`,
      );
    if (r.deadLetters) info(`  dead letters:       ${JSON.stringify(r.deadLetters)}`);
    if (r.rejectedSubmissions !== undefined)
      info(`  rejected submissions: ${r.rejectedSubmissions}`);
    const failures = r.failures ?? [];
    if (failures.length > 0) {
      info(color.red(`  ${failures.length} failure(s); first ones:`));
      for (const f of failures.slice(0, 5)) info(`      - ${f.slice(0, 300)}`);
    }
  }
}

process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => signalForeground('SIGTERM'));

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'niyanta-fuzz-'));
  const started = Date.now();
  await ensureDependencies(ROOT);
  done(`nats-server: ${await ensureNatsServer()}`);
  step('build (tsc -b)');
  if ((await run(localBin(ROOT, 'tsc'), ['-b'], { cwd: ROOT })) !== 0)
    throw new ScriptError('the build failed: fix it first (npx tsc -b).');
  step(`fuzz: FUZZ_RUNS=${args.runs}${args.seed === undefined ? '' : ` FUZZ_SEED=${args.seed}`}`);
  const env = {
    ...process.env,
    FUZZ_RUNS: args.runs,
    FUZZ_REPORT_DIR: reportDir,
    ...(args.seed === undefined ? {} : { FUZZ_SEED: args.seed }),
  };
  // Path patterns given (`npm run fuzz -- broker`) narrow the run to those fuzz files.
  const patterns = positional(args.rest);
  const paths =
    patterns.length === 0 ? ['e2e/test/fuzz'] : patterns.map((p) => `e2e/test/fuzz/.*${p}`);
  const options = args.rest.filter((a) => !patterns.includes(a));
  const code = await run(localBin(ROOT, 'jest'), ['--runInBand', ...options, ...paths], {
    cwd: ROOT,
    env,
  });
  summarize(readReports(reportDir), Math.round((Date.now() - started) / 1000));
  fs.rmSync(reportDir, { recursive: true, force: true });
  if (code === 0) done(color.bold('fuzz run passed'));
  else
    fail(
      `fuzz run failed (jest exit code ${code}); each failure prints FUZZ_SEED and FUZZ_RUNS to replay it`,
    );
  process.exit(code);
}

main().catch((err) => {
  fail(err instanceof ScriptError ? err.message : String(err.stack ?? err));
  process.exit(1);
});
