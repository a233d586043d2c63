import { setTimeout as delay } from 'node:timers/promises';
import { databaseClockOffsetMs, nowMs, uuidv7Floor } from '../db-clock.js';
import { BenchAbortedError, ScenarioError } from '../errors.js';
import { JsonClient } from '../http-client.js';
import type { ScenarioContext, ScenarioReport, TableRow } from '../scenario-context.js';
import { summarize } from '../stats.js';
import type { Summary } from '../stats.js';
import { StatementStats, statementRows } from '../pg-statements.js';
import { serverVersions } from '../server-versions.js';
import { cpuDelta, openSystem } from '../system.js';
import { TARGETS, atMost, format } from '../targets.js';
import { waitForPhase } from '../wait-phase.js';
import { BENCH_LABEL, phaseTimings } from '../workload-rows.js';
import { pick } from './throughput.js';

const SCENARIO = 'latency';

interface Sample {
  /** When the open-loop schedule says this request goes out. */
  intended: number;
  sent: number;
  answered: number;
  status: number;
  id: string | undefined;
  error: string | undefined;
}

const pct = (s: Summary): string =>
  `p50 ${format(s.p50)} / p95 ${format(s.p95)} / p99 ${format(s.p99)}`;

/**
 * `latency`: single POST /v1/workloads at a steady rate on an open-loop schedule (request i goes
 * out at start + i/rate whether or not earlier ones were answered, so a slow answer cannot hide
 * the queueing it causes), then the time each one took to start from the rows.
 */
export async function runLatency(
  ctx: ScenarioContext,
  profileDir?: string,
): Promise<ScenarioReport> {
  const { args, progress, signal } = ctx;
  await using sys = await openSystem(args, {
    ...(profileDir === undefined ? {} : { profileDir }),
    log: (line) => progress.log(line),
  });
  const servers = await serverVersions(sys);
  const n = args.n;
  const tag = `${ctx.stamp}-${SCENARIO}`;
  const labels = { [BENCH_LABEL]: tag };
  const warmupLabels = { [BENCH_LABEL]: `${tag}-warmup` };
  const offset = await databaseClockOffsetMs(sys.db);
  const minId = uuidv7Floor(Date.now() - 60_000);
  const client = new JsonClient(sys.apiUrl, 1024, sys.apiKey);
  const samples: Sample[] = [];
  const warmupSamples: Sample[] = [];
  const inflight = new Set<Promise<void>>();
  const statements = sys.owned ? await StatementStats.open(sys.db) : undefined;
  // V8 compiles each service's hot code during its first seconds under load; the warm-up runs
  // the same schedule first so the measured seconds see the code a long-running service runs.
  const warmup = args.rate * args.warmupSeconds;
  progress.log(
    `${SCENARIO}: ${args.rate}/s for ${args.durationSeconds} s (${n} requests), open loop` +
      (warmup > 0 ? `, after ${args.warmupSeconds} s of warm-up (${warmup} requests)` : ''),
  );

  // Warm the connection pool and the path once, outside the measurement.
  await client.post('/v1/workloads', {
    type: 'noop',
    input: {},
    labels: warmupLabels,
  });

  const intervalMs = 1000 / args.rate;
  const t0 = nowMs() + 50;
  const measuredFrom = t0 + warmup * intervalMs;
  let cpuBefore = sys.cpuSnapshot();
  let statementsReset: Promise<void> | undefined;
  let answered = 0;
  let errors = 0;
  const fire = (i: number): void => {
    const measured = i >= warmup;
    const into = measured ? samples : warmupSamples;
    const body = { type: 'noop', input: {}, labels: measured ? labels : warmupLabels };
    const intended = t0 + i * intervalMs;
    const sent = nowMs();
    const p = client
      .post('/v1/workloads', body, 30_000)
      .then(
        (res) => {
          const id = (res.body as { id?: string } | undefined)?.id;
          const ok = res.status === 201 || res.status === 202;
          if (!ok && measured) errors++;
          into.push({
            intended,
            sent,
            answered: nowMs(),
            status: res.status,
            id: ok ? id : undefined,
            error: ok ? undefined : JSON.stringify(res.body).slice(0, 200),
          });
        },
        (err: unknown) => {
          if (measured) errors++;
          into.push({
            intended,
            sent,
            answered: nowMs(),
            status: 0,
            id: undefined,
            error: (err as Error).message,
          });
        },
      )
      .finally(() => {
        if (measured) answered++;
        inflight.delete(p);
      });
    inflight.add(p);
  };
  const total = warmup + n;
  try {
    let i = 0;
    while (i < total) {
      if (signal.aborted) throw new BenchAbortedError({ cause: signal.reason });
      const now = nowMs();
      while (i < total && t0 + i * intervalMs <= now) {
        if (i === warmup) {
          cpuBefore = sys.cpuSnapshot();
          statementsReset = statements?.reset();
        }
        fire(i++);
      }
      const sent = Math.max(0, i - warmup);
      progress.update(
        now < measuredFrom
          ? `${SCENARIO} warm-up ${((now - t0) / 1000).toFixed(1)}/${args.warmupSeconds} s: sent ${i}, in flight ${inflight.size}`
          : `${SCENARIO} ${((now - measuredFrom) / 1000).toFixed(1)}/${args.durationSeconds} s: sent ${sent}, answered ${answered}, in flight ${inflight.size}, errors ${errors}`,
      );
      if (i < total) await delay(Math.max(0, t0 + i * intervalMs - nowMs()));
    }
    await Promise.all([...inflight]);
    await statementsReset;
  } finally {
    client.close();
  }
  progress.finish(`${SCENARIO}: sent ${n}, answered ${answered}, errors ${errors}`);

  const accepted = samples.filter((s) => s.id !== undefined);
  if (accepted.length === 0) {
    throw new ScenarioError(
      SCENARIO,
      `no submission was accepted; first errors: ${samples
        .slice(0, 3)
        .map((s) => `${s.status} ${s.error ?? ''}`)
        .join('; ')}`,
    );
  }
  const counts = await waitForPhase({
    scenario: SCENARIO,
    db: sys.db,
    minId,
    tag,
    expected: () => accepted.length,
    done: (c, expected) => c.completed + c.failedOrCancelled >= expected,
    describe: (c) =>
      `${SCENARIO}: waiting for the runs: started ${c.started}, completed ${c.completed} of ${accepted.length}`,
    progress,
    signal,
    stallMs: args.stallSeconds * 1000,
  });
  progress.finish();
  const cpuSeconds = cpuDelta(cpuBefore, sys.cpuSnapshot());
  const postgresStatements = await statements?.top();

  const sentAt = new Map(accepted.map((s) => [s.id!, s.sent]));
  const rows = await phaseTimings(sys.db, minId, tag);
  const toStart: number[] = [];
  const toComplete: number[] = [];
  for (const r of rows) {
    const sent = sentAt.get(r.id);
    if (sent === undefined) continue;
    if (r.startedMs !== null) toStart.push(r.startedMs - offset - sent);
    if (r.finishedMs !== null) toComplete.push(r.finishedMs - offset - sent);
  }
  const httpMs = summarize(samples.map((s) => s.answered - s.sent));
  const warmupHttpMs = summarize(warmupSamples.map((s) => s.answered - s.sent));
  const httpFromScheduleMs = summarize(samples.map((s) => s.answered - s.intended));
  const scheduleLagMs = summarize(samples.map((s) => s.sent - s.intended));
  const submitToStartMs = summarize(toStart);
  const submitToCompleteMs = summarize(toComplete);
  const firstSent = Math.min(...samples.map((s) => s.sent));
  const lastSent = Math.max(...samples.map((s) => s.sent));
  const achievedRate = n > 1 ? ((n - 1) * 1000) / (lastSent - firstSent) : n;
  const statuses: Record<string, number> = {};
  for (const s of samples) statuses[String(s.status)] = (statuses[String(s.status)] ?? 0) + 1;

  const table: TableRow[] = [
    { figure: 'rate asked / achieved (/s)', value: `${args.rate} / ${format(achievedRate)}` },
    {
      figure: 'answers by status',
      value: Object.entries(statuses)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', '),
    },
    {
      figure: 'errors',
      value: String(errors),
      target: '0',
      verdict: errors === 0 ? 'met' : `missed: ${errors} of ${n}`,
    },
    {
      figure: 'HTTP ms',
      value: pct(httpMs),
      target: `p99 ≤ ${TARGETS.httpP99Ms}`,
      verdict: atMost(httpMs.p99, TARGETS.httpP99Ms, 'ms'),
    },
    { figure: 'HTTP ms from the schedule', value: pct(httpFromScheduleMs) },
    ...(warmupSamples.length === 0
      ? []
      : [
          {
            figure: `HTTP ms in the warm-up (${args.warmupSeconds} s)`,
            value: `${pct(warmupHttpMs)}, errors ${warmupSamples.filter((s) => s.id === undefined).length}`,
          },
        ]),
    {
      figure: 'submit→start ms',
      value: pct(submitToStartMs),
      target: `p50 ≤ ${TARGETS.submitToStartP50Ms}, p99 ≤ ${TARGETS.submitToStartP99Ms}`,
      verdict: `p50 ${atMost(submitToStartMs.p50, TARGETS.submitToStartP50Ms, 'ms')}; p99 ${atMost(submitToStartMs.p99, TARGETS.submitToStartP99Ms, 'ms')}`,
    },
    { figure: 'submit→complete ms', value: pct(submitToCompleteMs) },
    { figure: 'completed / failed', value: `${counts.completed} / ${counts.failedOrCancelled}` },
  ];
  table.push(...statementRows('PostgreSQL statement', postgresStatements));
  const cpu = Object.entries(cpuSeconds).sort((a, b) => b[1] - a[1]);
  if (cpu.length > 0)
    table.push({
      figure: 'CPU s by process',
      value: cpu
        .slice(0, 5)
        .map(([k, v]) => `${k} ${format(v)}`)
        .join(', '),
    });

  return {
    servers,
    n,
    figures: {
      httpMs: pick(httpMs),
      submitToStartMs: pick(submitToStartMs),
      submitToCompleteMs: pick(submitToCompleteMs),
      errors,
      rate: args.rate,
      achievedRate: Math.round(achievedRate * 10) / 10,
      statuses,
      warmupSeconds: args.warmupSeconds,
      detail: {
        httpMs,
        warmupHttpMs,
        httpFromScheduleMs,
        scheduleLagMs,
        submitToStartMs,
        submitToCompleteMs,
      },
      errorSamples: samples
        .filter((s) => s.error !== undefined)
        .slice(0, 5)
        .map((s) => `${s.status} ${s.error}`),
      completed: counts.completed,
      failedOrCancelled: counts.failedOrCancelled,
      cpuSeconds,
      ...(postgresStatements === undefined ? {} : { postgresStatements }),
    },
    table,
    settings: {
      rate: args.rate,
      durationSeconds: args.durationSeconds,
      warmupSeconds: args.warmupSeconds,
      workers: args.target === undefined ? args.workers : undefined,
      slots: args.target === undefined ? args.slots : undefined,
      logLevel: args.logLevel,
      target: args.target?.apiUrl,
      profile: args.profile,
    },
  };
}
