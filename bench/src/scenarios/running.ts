import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'kysely';
import { databaseClockOffsetMs, nowMs, uuidv7Floor } from '../db-clock.js';
import { BenchAbortedError, ScenarioError } from '../errors.js';
import { JsonClient } from '../http-client.js';
import { StatementStats, statementRows } from '../pg-statements.js';
import { residentMiB } from '../process-cpu.js';
import type { ScenarioContext, ScenarioReport, TableRow } from '../scenario-context.js';
import { roundTo, summarize } from '../stats.js';
import { serverVersions } from '../server-versions.js';
import { startBenchSystem } from '../system.js';
import type { BenchSystem } from '../system.js';
import { format } from '../targets.js';
import { waitForPhase } from '../wait-phase.js';
import { BENCH_LABEL } from '../workload-rows.js';

const SCENARIO = 'running';

/** The most slots one worker may have (the worker's WORKER_SLOTS maximum). */
export const MAX_WORKER_SLOTS = 10_000;
/** Slots left free beside the long runs, for the probes. */
export const PROBE_SLOTS = 100;
/** The most runs `running` can put on its one worker. */
export const MAX_RUNNING_N = MAX_WORKER_SLOTS - PROBE_SLOTS;
/** One noop probe every this many ms while the runs go on. */
const PROBE_EVERY_MS = 200;
/** Each long run reports progress and checkpoints this many times over the measured window. */
const STEPS_IN_WINDOW = 2;

function memory(sys: BenchSystem): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, p] of sys.processes) {
    const mib = p.pid === undefined ? undefined : residentMiB(p.pid);
    if (mib !== undefined) out[name] = mib;
  }
  return out;
}

const describeMemory = (m: Record<string, number>): string =>
  Object.entries(m)
    .map(([name, mib]) => `${name} ${mib}`)
    .join(', ');

/**
 * `running`: `--n` long `sleep` runs on ONE worker (its slots: n + 100, at most WORKER_SLOTS'
 * 10,000), then `--duration` seconds of watching while they run, report progress and checkpoint:
 * memory of every service before and with them, CPU of each while they run, whether any run
 * was lost or its worker declared dead (its heartbeats list every run), and submit→start of a
 * noop probe every 200 ms (placement is not to slow down with the number of runs).
 */
export async function runRunning(
  ctx: ScenarioContext,
  profileDir?: string,
): Promise<ScenarioReport> {
  const { args, progress, signal } = ctx;
  const n = args.n;
  const windowMs = args.durationSeconds * 1000;
  const stepMs = windowMs / STEPS_IN_WINDOW;
  // Long enough to outlast the window and the submissions before it.
  const steps = STEPS_IN_WINDOW + 4;
  const sleepMs = Math.round(stepMs * steps);
  const tag = `${ctx.stamp}-${SCENARIO}`;
  progress.log(
    `${SCENARIO}: ${n} sleep workloads of ${sleepMs}–${2 * sleepMs} ms (a checkpoint every ${format(stepMs / 1000)}–${format((2 * stepMs) / 1000)} s) on 1 worker with ${n + PROBE_SLOTS} slots, watched for ${args.durationSeconds} s`,
  );
  await using sys: BenchSystem = await startBenchSystem({
    workers: 1,
    slots: n + PROBE_SLOTS,
    logLevel: args.logLevel,
    profile: args.profile,
    ...(profileDir === undefined ? {} : { profileDir }),
    log: (line) => progress.log(line),
  });
  const servers = await serverVersions(sys);
  const idle = memory(sys);
  const offset = await databaseClockOffsetMs(sys.db);
  const minId = uuidv7Floor(Date.now() - 60_000);
  const client = new JsonClient(sys.apiUrl, 8, sys.apiKey);
  try {
    for (let sent = 0; sent < n; sent += 1000) {
      const count = Math.min(1000, n - sent);
      const res = await client.post('/v1/workloads/batch', {
        // Lengths spread over [sleepMs, 2 × sleepMs), so their steps do not all end at once
        // (in step, 9,900 checkpoints at the same instant held the probes back by 4–5 s).
        workloads: Array.from({ length: count }, (_, i) => ({
          type: 'sleep',
          input: { durationMs: Math.round(sleepMs * (1 + (sent + i) / n)), steps },
          labels: { [BENCH_LABEL]: tag },
        })),
      });
      if (res.status !== 201 && res.status !== 202) {
        throw new ScenarioError(
          SCENARIO,
          `submitting ${count} sleep workloads answered ${res.status}: ${JSON.stringify(res.body)}`,
        );
      }
    }
    await waitForPhase({
      scenario: SCENARIO,
      db: sys.db,
      minId,
      tag,
      expected: () => n,
      done: (c, expected) => c.started >= expected,
      describe: (c) => `${SCENARIO}: waiting for all to run: ${c.started}/${n} started`,
      stallMs: args.stallSeconds * 1000,
      signal,
      progress,
    });
    const running = memory(sys);

    const statements = await StatementStats.open(sys.db);
    const cpuBefore = sys.cpuSnapshot();
    const watchStart = nowMs();
    const probes: { id: string; at: number }[] = [];
    while (nowMs() - watchStart < windowMs) {
      if (signal.aborted) throw new BenchAbortedError({ cause: signal.reason });
      const at = nowMs();
      const res = await client.post('/v1/workloads', {
        type: 'noop',
        input: {},
        labels: { [BENCH_LABEL]: `${tag}-probe` },
      });
      if (res.status === 201 || res.status === 202) {
        probes.push({ id: (res.body as { id: string }).id, at });
      }
      progress.update(
        `${SCENARIO} ${format((nowMs() - watchStart) / 1000)}/${args.durationSeconds} s: ${n} running, ${probes.length} probes sent`,
      );
      await delay(Math.max(0, PROBE_EVERY_MS - (nowMs() - at)));
    }
    const seconds = (nowMs() - watchStart) / 1000;
    const cpuAfter = sys.cpuSnapshot();
    progress.finish();
    const postgresStatements = await statements?.top();
    const end = memory(sys);

    const { rows: state } = await sql<{ still: number; lost: number; worker_status: string }>`
      select
        count(*) filter (where status = 'RUNNING' and attempt = 1)::int as still,
        count(*) filter (where attempt > 1 or status = 'PENDING')::int as lost,
        (select string_agg(status, ',') from workers) as worker_status
      from workloads
      where id >= ${minId}::uuid and labels @> ${JSON.stringify({ [BENCH_LABEL]: tag })}::jsonb`.execute(
      sys.db,
    );
    // Probes: submit → started_at on our clock; one not started by now counts as the window.
    const { rows: started } = await sql<{ id: string; started_ms: number | null }>`
      select id, extract(epoch from started_at) * 1000 as started_ms
      from workloads where id = any(${probes.map((p) => p.id)}::uuid[])`.execute(sys.db);
    const startedMs = new Map(started.map((r) => [r.id, r.started_ms]));
    let unstarted = 0;
    const probeMs = probes.map((p) => {
      const s = startedMs.get(p.id);
      if (s === null || s === undefined) {
        unstarted += 1;
        return windowMs;
      }
      return Number(s) - offset - p.at;
    });
    const probeSummary = summarize(probeMs);
    const cpuPercent = Object.fromEntries(
      Object.keys(cpuAfter).map((k) => [
        k,
        roundTo(((cpuAfter[k]! - (cpuBefore[k] ?? 0)) / seconds) * 100, 1),
      ]),
    );
    const { still, lost, worker_status: workerStatus } = state[0]!;
    const table: TableRow[] = [
      { figure: 'runs on one worker', value: `${n} (slots ${n + PROBE_SLOTS})` },
      {
        figure: 'runs lost or sent back',
        value: `${lost} (still on their first attempt: ${still}; worker ${workerStatus})`,
        target: '0',
        verdict: lost === 0 && still === n ? 'met' : `missed: ${lost} lost`,
      },
      {
        figure: 'probe submit→start ms',
        value: `p50 ${format(probeSummary.p50)} / p95 ${format(probeSummary.p95)} / p99 ${format(probeSummary.p99)} (${probes.length} probes, ${unstarted} not started)`,
      },
      { figure: 'RSS MiB idle', value: describeMemory(idle) },
      { figure: `RSS MiB with ${n} running`, value: describeMemory(running) },
      { figure: `RSS MiB after ${args.durationSeconds} s`, value: describeMemory(end) },
      {
        figure: 'CPU % of a core while they run',
        value: Object.entries(cpuPercent)
          .filter(([, v]) => v >= 0.5)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      },
      ...statementRows('PostgreSQL statement', postgresStatements),
    ];
    return {
      servers,
      n,
      figures: {
        runsLost: lost,
        runsStillOnFirstAttempt: still,
        workerStatus,
        probeSubmitToStartMs: probeSummary,
        probesNotStarted: unstarted,
        rssMiB: { idle, running, end },
        cpuPercent,
        watchedSeconds: roundTo(seconds, 1),
        ...(postgresStatements === undefined ? {} : { postgresStatements }),
      },
      table,
      settings: {
        workers: 1,
        slots: n + PROBE_SLOTS,
        durationSeconds: args.durationSeconds,
        sleepMs: [sleepMs, 2 * sleepMs],
        steps,
        probeEveryMs: PROBE_EVERY_MS,
        profile: args.profile,
      },
    };
  } finally {
    client.close();
  }
}
