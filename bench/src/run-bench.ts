import { readdir } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchArgs } from './args.js';
import { UsageError } from './errors.js';
import { measureHostSpeed } from './host-speed.js';
import type { HostSpeedSpan } from './host-speed.js';
import { machineInfo } from './machine.js';
import type { MachineInfo } from './machine.js';
import { summarizeProfile } from './profile-summary.js';
import type { ProfileSummary } from './profile-summary.js';
import type { Progress } from './progress.js';
import { fileStamp, writeResult } from './results.js';
import type { ScenarioContext, ScenarioReport, TableRow } from './scenario-context.js';
import { SCENARIOS } from './scenario-names.js';
import type { ServerVersions } from './server-versions.js';
import { runFailover } from './scenarios/failover.js';
import { runFanout } from './scenarios/fanout.js';
import { runLatency } from './scenarios/latency.js';
import { runPlacement } from './scenarios/placement.js';
import { runRecovery } from './scenarios/recovery.js';
import { runRunning } from './scenarios/running.js';
import { runThroughput } from './scenarios/throughput.js';
import { profileDirFor } from './system.js';

/** What one bench run produced. */
export interface BenchOutcome {
  file: string;
  result: Record<string, unknown> & {
    scenario: string;
    n: number;
    machine: MachineInfo & { loadAverage1mAtStart: number };
    hostSpeed: HostSpeedSpan;
    servers?: ServerVersions;
  };
  table: TableRow[];
  profiles: ProfileSummary[];
}

/** Runs one scenario, writes its result file, and returns it with the table. */
export async function runBench(
  args: BenchArgs,
  opts: { progress: Progress; signal: AbortSignal },
): Promise<BenchOutcome> {
  const startedAt = new Date();
  const loadAverageAtStart = Math.round(os.loadavg()[0]! * 100) / 100;
  const stamp = fileStamp(startedAt);
  const ctx: ScenarioContext = { args, progress: opts.progress, signal: opts.signal, stamp };
  const profiled = args.profile !== undefined;
  const profilable: readonly string[] = [
    SCENARIOS.throughput,
    SCENARIOS.latency,
    SCENARIOS.running,
  ];
  if (profiled && !profilable.includes(args.scenario)) {
    throw new UsageError(
      `--profile applies to throughput, latency and running (service processes under load), not ${args.scenario}.`,
    );
  }
  const profileDir = profiled ? resolve(profileDirFor(args.outDir, stamp)) : undefined;

  opts.progress.log('measuring the host speed');
  const speedBefore = measureHostSpeed();
  let report: ScenarioReport;
  switch (args.scenario) {
    case SCENARIOS.throughput:
      report = await runThroughput(ctx, profileDir);
      break;
    case SCENARIOS.latency:
      report = await runLatency(ctx, profileDir);
      break;
    case SCENARIOS.recovery:
      report = await runRecovery(ctx);
      break;
    case SCENARIOS.placement:
      report = await runPlacement(ctx);
      break;
    case SCENARIOS.running:
      report = await runRunning(ctx, profileDir);
      break;
    case SCENARIOS.failover:
      report = await runFailover(ctx);
      break;
    case SCENARIOS.fanout:
      report = await runFanout(ctx);
      break;
  }

  const profiles: ProfileSummary[] = [];
  if (profileDir !== undefined) {
    const files = (await readdir(profileDir).catch(() => [] as string[])).filter((f) =>
      f.endsWith('.cpuprofile'),
    );
    for (const f of files) profiles.push(await summarizeProfile(join(profileDir, f)));
  }
  const hostSpeed: HostSpeedSpan = { before: speedBefore, after: measureHostSpeed() };
  const finishedAt = new Date();
  const result = {
    scenario: args.scenario,
    n: report.n,
    ...report.figures,
    machine: { ...machineInfo(), loadAverage1mAtStart: loadAverageAtStart },
    hostSpeed,
    ...(report.servers === undefined ? {} : { servers: report.servers }),
    settings: Object.fromEntries(
      Object.entries({ ...report.settings, stallSeconds: args.stallSeconds }).filter(
        ([, v]) => v !== undefined,
      ),
    ),
    mode: args.target === undefined ? 'own-servers' : 'deployment',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    wallSeconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
    ...(profiles.length > 0 ? { profiles } : {}),
  };
  const file = await writeResult(args.outDir, args.scenario, stamp, result);
  return { file, result, table: report.table, profiles };
}
