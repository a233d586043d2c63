import { parseBenchArgs, USAGE } from './args.js';
import { BenchAbortedError, BenchError } from './errors.js';
import { describeHostSpeed } from './host-speed.js';
import { formatProfileSummary, summarizeProfile } from './profile-summary.js';
import { describeServers } from './server-versions.js';
import { Progress } from './progress.js';
import { formatTable } from './results.js';
import { runBench } from './run-bench.js';

// `npm run bench -- --scenario <name> ...`, or `npm run bench -- profile <file.cpuprofile>...`
// to summarise profiles again.
async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'profile') {
    if (argv.length < 2) {
      process.stderr.write('Usage: npm run bench -- profile <file.cpuprofile> [...]\n');
      return 2;
    }
    for (const file of argv.slice(1)) {
      process.stdout.write(`${formatProfileSummary(await summarizeProfile(file))}\n\n`);
    }
    return 0;
  }
  const args = parseBenchArgs(argv);
  if (args === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`\n${sig} again: exiting without stopping the servers\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${sig}: stopping the servers (again to force)\n`);
    controller.abort(new BenchAbortedError());
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const progress = new Progress();
    const outcome = await runBench(args, { progress, signal: controller.signal });
    const { machine, servers, hostSpeed } = outcome.result;
    process.stdout.write(
      `\n${args.scenario} on ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.nodeVersion}` +
        `${machine.commit === undefined ? '' : `, commit ${machine.commit}`}` +
        `, load average ${machine.loadAverage1mAtStart} → ${machine.loadAverage1m}` +
        `\n${describeHostSpeed(hostSpeed)}` +
        `${servers === undefined ? '' : `\n${describeServers(servers)}`}\n\n` +
        `${formatTable(outcome.table)}\n\n`,
    );
    for (const p of outcome.profiles)
      process.stdout.write(
        `${formatProfileSummary({ ...p, topFunctions: p.topFunctions.slice(0, 15) })}\n\n`,
      );
    process.stdout.write(`result: ${outcome.file}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof BenchError) {
    process.stderr.write(`\nbench: ${err.message}\n`);
    process.exitCode = err instanceof BenchAbortedError ? 130 : 2;
  } else {
    process.stderr.write(
      `\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  }
}
