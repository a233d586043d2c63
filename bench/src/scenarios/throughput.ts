import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { DEFAULT_TENANT, SUBJECTS, publishAll, submissionMsgId, uuidv7 } from '@niyanta/messages';
import type { Outgoing, SubmissionV1 } from '@niyanta/messages';
import { eventRowsPerWorkload, perWorkload, readCounters } from '../counters.js';
import type { Counters } from '../counters.js';
import { databaseClockOffsetMs, nowMs, uuidv7Floor } from '../db-clock.js';
import { ScenarioError } from '../errors.js';
import { JsonClient } from '../http-client.js';
import type { ScenarioContext, ScenarioReport, TableRow } from '../scenario-context.js';
import { runBullmqPeer } from '../peer/bullmq-peer.js';
import type { PeerResult } from '../peer/bullmq-peer.js';
import { LAYOUTS, PEERS, SUBMIT_PATHS } from '../scenario-names.js';
import type { Layout, SubmitPath } from '../scenario-names.js';
import { roundTo, summarize } from '../stats.js';
import type { Summary } from '../stats.js';
import { StatementStats, statementRows } from '../pg-statements.js';
import type { StatementStat } from '../pg-statements.js';
import { serverVersions } from '../server-versions.js';
import { benchBackendPids, cpuDelta, openSystem } from '../system.js';
import type { BenchSystem } from '../system.js';
import { TARGETS, atLeast, atMost, format } from '../targets.js';
import { waitForPhase } from '../wait-phase.js';
import { BENCH_LABEL, phaseTimings } from '../workload-rows.js';
import type { PhaseCounts } from '../workload-rows.js';

const SCENARIO = 'throughput';

/** The figures of one submission path. */
export interface ThroughputPhase {
  path: SubmitPath;
  n: number;
  accepted: number;
  submitErrors: number;
  completed: number;
  failedOrCancelled: number;
  submittedPerSecond: number;
  completedPerSecond: number;
  /** First submit to last COMPLETED in PostgreSQL. */
  endToEndSeconds: number;
  submitToPersistMs: Summary;
  submitToStartMs: Summary;
  submitToCompleteMs: Summary;
  /** CPU seconds per process over the phase (own servers only). */
  cpuSeconds: Record<string, number>;
  /** Every process's CPU over the phase (services, workers, nats-server, PostgreSQL), ms per completed workload. */
  cpuMsPerWorkload: number;
  /** Broker messages per workload over the phase, by stream. */
  messagesPerWorkload: Counters['streams'];
  /** workload_events rows per workload. */
  eventRowsPerWorkload: number;
  /** PostgreSQL's busiest statements over the phase (own servers only). */
  postgresStatements?: StatementStat[];
}

interface Submitted {
  /** Our clock, ms, when each workload's request or publish went out. */
  sentAt: Map<string, number>;
  firstSubmit: number;
  lastAck: number;
  errors: number;
  errorSamples: string[];
}

function chunks(n: number, size: number): number[] {
  const out: number[] = [];
  for (let left = n; left > 0; left -= size) out.push(Math.min(size, left));
  return out;
}

/** Runs `lanes` workers over `sizes`, each taking the next chunk when its last one is answered. */
async function inLanes(
  sizes: number[],
  lanes: number,
  run: (size: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(lanes, sizes.length) }, async () => {
      while (next < sizes.length) await run(sizes[next++]!);
    }),
  );
}

async function submitHttp(
  sys: BenchSystem,
  n: number,
  ctx: ScenarioContext,
  tag: string,
): Promise<Submitted> {
  const client = new JsonClient(sys.apiUrl, ctx.args.concurrency * 2, sys.apiKey);
  const out: Submitted = {
    sentAt: new Map(),
    firstSubmit: nowMs(),
    lastAck: 0,
    errors: 0,
    errorSamples: [],
  };
  const labels = { [BENCH_LABEL]: tag };
  try {
    await inLanes(chunks(n, ctx.args.batchSize), ctx.args.concurrency, async (size) => {
      if (ctx.signal.aborted) return;
      const workloads = Array.from({ length: size }, () => ({ type: 'noop', input: {}, labels }));
      const sent = nowMs();
      try {
        const res = await client.post('/v1/workloads/batch', { workloads });
        const items = (res.body as { items?: { id: string }[] } | undefined)?.items;
        if ((res.status === 201 || res.status === 202) && items !== undefined) {
          for (const item of items) out.sentAt.set(item.id, sent);
        } else {
          out.errors += size;
          if (out.errorSamples.length < 5)
            out.errorSamples.push(`HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
        }
      } catch (err) {
        out.errors += size;
        if (out.errorSamples.length < 5) out.errorSamples.push((err as Error).message);
      }
      out.lastAck = nowMs();
    });
  } finally {
    client.close();
  }
  return out;
}

async function submitBroker(
  sys: BenchSystem,
  n: number,
  ctx: ScenarioContext,
  tag: string,
): Promise<Submitted> {
  const nc = await connect({ servers: sys.natsUrl, name: 'niyanta-bench' });
  const js = jetstream(nc);
  const subject = SUBJECTS.submit(DEFAULT_TENANT);
  const labels = { [BENCH_LABEL]: tag };
  const out: Submitted = {
    sentAt: new Map(),
    firstSubmit: nowMs(),
    lastAck: 0,
    errors: 0,
    errorSamples: [],
  };
  try {
    await inLanes(chunks(n, ctx.args.batchSize), ctx.args.concurrency, async (size) => {
      if (ctx.signal.aborted) return;
      const sent = nowMs();
      const items: Outgoing<'submission'>[] = Array.from({ length: size }, () => {
        const message: SubmissionV1 = {
          schemaVersion: 1,
          id: uuidv7(),
          type: 'noop',
          input: {},
          priority: 500,
          maxAttempts: 3,
          labels,
        };
        return {
          kind: 'submission',
          subject,
          message,
          msgId: submissionMsgId(DEFAULT_TENANT, message.id),
        };
      });
      try {
        await publishAll(js, items);
        for (const item of items) out.sentAt.set(item.message.id, sent);
      } catch (err) {
        // Some of the window may be stored: they complete, and count as completions, not here.
        out.errors += size;
        if (out.errorSamples.length < 5) out.errorSamples.push((err as Error).message);
      }
      out.lastAck = nowMs();
    });
  } finally {
    await nc.close();
  }
  return out;
}

/** Submits `n` noop workloads labelled `tag` through `path` and waits until every one is done. */
async function submitAndWait(
  sys: BenchSystem,
  path: SubmitPath,
  ctx: ScenarioContext,
  n: number,
  tag: string,
  minId: string,
  what: string,
): Promise<{ submitted: Submitted; counts: PhaseCounts }> {
  const { args, progress } = ctx;
  let submitted: Submitted | undefined;
  const stopWatching = new AbortController();
  const started = nowMs();
  const describe = (c: PhaseCounts): string => {
    const s = (nowMs() - started) / 1000;
    return (
      `${what} ${s.toFixed(1)} s: in PostgreSQL ${c.persisted}/${n}, ` +
      `started ${c.started}, completed ${c.completed} (${format(c.completed / Math.max(s, 0.001))}/s)`
    );
  };
  const watching = waitForPhase({
    scenario: SCENARIO,
    db: sys.db,
    minId,
    tag,
    expected: () => (submitted === undefined ? undefined : submitted.sentAt.size),
    done: (c, expected) => c.completed + c.failedOrCancelled >= expected,
    describe,
    progress,
    signal: AbortSignal.any([ctx.signal, stopWatching.signal]),
    stallMs: args.stallSeconds * 1000,
  });
  // Keep a rejected watcher from surfacing as unhandled while we are still submitting.
  watching.catch(() => undefined);
  try {
    submitted =
      path === SUBMIT_PATHS.http
        ? await submitHttp(sys, n, ctx, tag)
        : await submitBroker(sys, n, ctx, tag);
  } catch (err) {
    stopWatching.abort();
    throw err;
  }
  if (submitted.sentAt.size === 0) {
    stopWatching.abort();
    throw new ScenarioError(
      SCENARIO,
      `no ${path} submission was accepted: ${submitted.errorSamples.join('; ')}`,
    );
  }
  const counts = await watching;
  progress.finish(describe(counts));
  return { submitted, counts };
}

async function runPhase(
  sys: BenchSystem,
  path: SubmitPath,
  ctx: ScenarioContext,
): Promise<ThroughputPhase> {
  const { args, progress } = ctx;
  const n = args.n;
  const tag = `${ctx.stamp}-${SCENARIO}-${path}`;
  const offset = await databaseClockOffsetMs(sys.db);
  // A minute of slack below now for the API's clock; the label keeps other rows out.
  let minId = uuidv7Floor(Date.now() - 60_000);
  if (args.warmupN > 0) {
    // V8 compiles each service's hot code during its first seconds under load: one unmeasured
    // round first, so the measured one sees the code a long-running service runs.
    progress.log(`${SCENARIO}/${path}: warm-up, ${args.warmupN} noop workloads (not measured)`);
    const warmup = await submitAndWait(
      sys,
      path,
      ctx,
      args.warmupN,
      `${tag}-warmup`,
      minId,
      `${SCENARIO}/${path} warm-up`,
    );
    // The measured round's ids come from the same clocks, later: starting the polls at the
    // warm-up's last id keeps them from reading its rows again, on whatever clock made them.
    minId = [...warmup.submitted.sentAt.keys()].reduce((a, b) => (b > a ? b : a));
  }
  const statements = sys.owned ? await StatementStats.open(sys.db) : undefined;
  // The bench's own connections open as it needs them: those of either moment are left out of both.
  const benchBackends = sys.owned ? await benchBackendPids(sys.db) : new Set<number>();
  const cpuBefore = sys.cpuSnapshot(benchBackends);
  const countersBefore = await readCounters(sys.natsUrl);
  progress.log(`${SCENARIO}/${path}: submitting ${n} noop workloads`);
  const { submitted, counts } = await submitAndWait(
    sys,
    path,
    ctx,
    n,
    tag,
    minId,
    `${SCENARIO}/${path}`,
  );
  if (sys.owned) for (const pid of await benchBackendPids(sys.db)) benchBackends.add(pid);
  const cpuSeconds = cpuDelta(cpuBefore, sys.cpuSnapshot(benchBackends));
  const counters = perWorkload(countersBefore, await readCounters(sys.natsUrl), counts.completed);
  const eventRows = await eventRowsPerWorkload(sys.db, minId, tag);
  const postgresStatements = await statements?.top();

  const rows = await phaseTimings(sys.db, minId, tag);
  const toStart: number[] = [];
  const toComplete: number[] = [];
  const toPersist: number[] = [];
  let lastFinished = 0;
  for (const r of rows) {
    const sent = submitted.sentAt.get(r.id);
    if (sent === undefined) continue;
    toPersist.push(r.createdMs - offset - sent);
    if (r.startedMs !== null) toStart.push(r.startedMs - offset - sent);
    if (r.finishedMs !== null && r.status === 'COMPLETED') {
      toComplete.push(r.finishedMs - offset - sent);
      lastFinished = Math.max(lastFinished, r.finishedMs - offset);
    }
  }
  const endToEndSeconds = (lastFinished - submitted.firstSubmit) / 1000;
  return {
    path,
    n,
    accepted: submitted.sentAt.size,
    submitErrors: submitted.errors,
    completed: counts.completed,
    failedOrCancelled: counts.failedOrCancelled,
    submittedPerSecond: roundTo(
      submitted.sentAt.size / ((submitted.lastAck - submitted.firstSubmit) / 1000),
      1,
    ),
    completedPerSecond: roundTo(toComplete.length / endToEndSeconds, 1),
    endToEndSeconds: roundTo(endToEndSeconds, 3),
    submitToPersistMs: summarize(toPersist),
    submitToStartMs: summarize(toStart),
    submitToCompleteMs: summarize(toComplete),
    cpuSeconds,
    cpuMsPerWorkload: roundTo(
      (Object.values(cpuSeconds).reduce((a, b) => a + b, 0) * 1000) / Math.max(1, counts.completed),
      3,
    ),
    messagesPerWorkload: counters.streams,
    eventRowsPerWorkload: eventRows,
    ...(postgresStatements === undefined ? {} : { postgresStatements }),
  };
}

const pct = (s: Summary): string =>
  `p50 ${format(s.p50)} / p95 ${format(s.p95)} / p99 ${format(s.p99)}`;

/** One layout's phases (deployment runs have one, named after the first layout). */
export interface LayoutRun {
  layout: Layout;
  phases: ThroughputPhase[];
}

/** The ratio of our completed/s to the peer's jobs/s, 3 decimals. */
const ratioOf = (ours: number, peer: PeerResult | undefined): number | undefined =>
  peer === undefined || peer.jobsPerSecond <= 0 ? undefined : roundTo(ours / peer.jobsPerSecond, 3);

async function runLayout(
  ctx: ScenarioContext,
  layout: Layout,
  profileDir: string | undefined,
): Promise<{ run: LayoutRun; servers: Awaited<ReturnType<typeof serverVersions>> }> {
  const { args, progress } = ctx;
  if (args.target === undefined) progress.log(`${SCENARIO}: the ${layout} layout`);
  await using sys = await openSystem(args, {
    layout,
    ...(profileDir === undefined ? {} : { profileDir }),
    log: (line) => progress.log(line),
  });
  const servers = await serverVersions(sys);
  const phases: ThroughputPhase[] = [];
  for (const path of args.paths) {
    try {
      phases.push(await runPhase(sys, path, ctx));
    } catch (err) {
      if (sys.owned && err instanceof ScenarioError)
        progress.log(`service output:\n${sys.output()}`);
      throw err;
    }
  }
  return { run: { layout, phases }, servers };
}

function phaseRows(layout: Layout, p: ThroughputPhase, peer: PeerResult | undefined): TableRow[] {
  const name = `${layout} ${p.path}`;
  const ratio = ratioOf(p.completedPerSecond, peer);
  const ratioTarget = TARGETS.ratioToPeer[layout];
  const cpuTarget = layout === LAYOUTS.single ? TARGETS.cpuMsPerWorkload.single : undefined;
  const rows: TableRow[] = [
    { figure: `${name}: submitted/s`, value: format(p.submittedPerSecond) },
    { figure: `${name}: completed/s (end to end)`, value: format(p.completedPerSecond) },
  ];
  if (ratio !== undefined)
    rows.push({
      figure: `${name}: ratio to BullMQ+AOF`,
      value: `${format(ratio)}×`,
      target: `≥ ${ratioTarget}×`,
      verdict: atLeast(ratio, ratioTarget, '×'),
    });
  rows.push(
    {
      figure: `${name}: CPU ms per workload (all processes)`,
      value: format(p.cpuMsPerWorkload),
      ...(cpuTarget === undefined
        ? {}
        : { target: `≤ ${cpuTarget}`, verdict: atMost(p.cpuMsPerWorkload, cpuTarget, 'ms') }),
    },
    {
      figure: `${name}: completed / failed / errors`,
      value: `${p.completed} / ${p.failedOrCancelled} / ${p.submitErrors}`,
    },
    { figure: `${name}: submit→persist ms`, value: pct(p.submitToPersistMs) },
    { figure: `${name}: submit→start ms`, value: pct(p.submitToStartMs) },
    { figure: `${name}: submit→complete ms`, value: pct(p.submitToCompleteMs) },
    {
      figure: `${name}: per workload`,
      value: [
        `workload_events rows ${format(p.eventRowsPerWorkload)}`,
        ...Object.entries(p.messagesPerWorkload).map(
          ([k, v]) => `${k.replace(/^NIYANTA_/, '').toLowerCase()} msgs ${format(v)}`,
        ),
      ].join(', '),
    },
    ...statementRows(`${name}: PostgreSQL statement`, p.postgresStatements),
  );
  const cpu = Object.entries(p.cpuSeconds).sort((a, b) => b[1] - a[1]);
  if (cpu.length > 0)
    rows.push({
      figure: `${name}: CPU s by process`,
      value: cpu
        .slice(0, 5)
        .map(([proc, s]) => `${proc} ${format(s)}`)
        .join(', '),
    });
  return rows;
}

function peerRows(peer: PeerResult): TableRow[] {
  return [
    {
      figure: `BullMQ ${peer.bullmqVersion} + Redis ${peer.redisVersion} (AOF everysec): jobs/s`,
      value: format(peer.jobsPerSecond),
    },
    { figure: 'BullMQ: added/s (addBulk)', value: format(peer.addedPerSecond) },
    {
      figure: 'BullMQ: CPU ms per job (redis-server + worker)',
      value: `${format(peer.cpuMsPerJob)} (producer ${format(peer.producerCpuMsPerJob)} more)`,
    },
    {
      figure: 'BullMQ: CPU s by process',
      value: Object.entries(peer.cpuSeconds)
        .map(([proc, s]) => `${proc} ${format(s)}`)
        .join(', '),
    },
  ];
}

/**
 * `throughput`: n noop workloads through the batch API, then through the broker directly, in
 * each layout in turn; then the peer (BullMQ on Redis with AOF) with the same n, batch size and
 * calls in flight, so every result carries their ratio from one run.
 */
export async function runThroughput(
  ctx: ScenarioContext,
  profileDir?: string,
): Promise<ScenarioReport> {
  const { args, progress } = ctx;
  const layouts = args.target === undefined ? args.layouts : args.layouts.slice(0, 1);
  const runs: LayoutRun[] = [];
  let servers: Awaited<ReturnType<typeof serverVersions>> | undefined;
  for (const layout of layouts) {
    const done = await runLayout(ctx, layout, profileDir);
    runs.push(done.run);
    servers ??= done.servers;
  }
  let peer: PeerResult | undefined;
  if (args.peer === PEERS.bullmq) {
    progress.log(`${SCENARIO}: the peer, BullMQ on Redis with AOF`);
    peer = await runBullmqPeer({
      n: args.n,
      warmupN: args.warmupN,
      batchSize: args.batchSize,
      lanes: args.concurrency,
      timeoutMs: args.stallSeconds * 1000,
      log: (line) => progress.log(line),
    });
  }
  const table: TableRow[] = [];
  for (const run of runs) for (const p of run.phases) table.push(...phaseRows(run.layout, p, peer));
  if (peer !== undefined) table.push(...peerRows(peer));
  const main = runs[0]!.phases[0]!;
  return {
    ...(servers === undefined ? {} : { servers }),
    n: args.n,
    figures: {
      completedPerSecond: main.completedPerSecond,
      submittedPerSecond: main.submittedPerSecond,
      submitToStartMs: pick(main.submitToStartMs),
      submitToCompleteMs: pick(main.submitToCompleteMs),
      ...(peer === undefined ? {} : { peerJobsPerSecond: peer.jobsPerSecond }),
      layouts: runs.map((run) => ({
        layout: run.layout,
        byPath: Object.fromEntries(
          run.phases.map((p) => [
            p.path,
            {
              completedPerSecond: p.completedPerSecond,
              ratioToPeer: ratioOf(p.completedPerSecond, peer),
              cpuMsPerWorkload: p.cpuMsPerWorkload,
            },
          ]),
        ),
        phases: run.phases,
      })),
      ...(peer === undefined ? {} : { peer }),
    },
    table,
    settings: {
      workers: args.target === undefined ? args.workers : undefined,
      slots: args.target === undefined ? args.slots : undefined,
      batchSize: args.batchSize,
      concurrency: args.concurrency,
      paths: args.paths,
      layouts,
      peer: args.peer,
      warmupN: args.warmupN,
      logLevel: args.logLevel,
      target: args.target?.apiUrl,
      profile: args.profile,
    },
  };
}

/** `{p50, p95, p99}` of a summary, as the result file's headline fields. */
export function pick(s: Summary): { p50: number; p95: number; p99: number } {
  return { p50: s.p50, p95: s.p95, p99: s.p99 };
}
