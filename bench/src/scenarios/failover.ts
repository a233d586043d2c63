import { setTimeout as delay } from 'node:timers/promises';
import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { nowMs } from '../db-clock.js';
import { BenchAbortedError, ScenarioError } from '../errors.js';
import { JsonClient } from '../http-client.js';
import type { ScenarioContext, ScenarioReport, TableRow } from '../scenario-context.js';
import { roundTo } from '../stats.js';
import { serverVersions } from '../server-versions.js';
import { startBenchSystem } from '../system.js';
import type { BenchSystem } from '../system.js';
import { atMost, format } from '../targets.js';
import { BENCH_LABEL } from '../workload-rows.js';

const SCENARIO = 'failover';

/** The bound on seconds without placements after the leading scheduler is SIGKILLed. */
export const FAILOVER_TARGET_SECONDS = 3;

/** Submissions go in batches of this many, one batch every SUBMIT_EVERY_MS. */
const BATCH = 20;
const SUBMIT_EVERY_MS = 100;
/** Each workload sleeps this long: short, so placements keep coming while work is pending. */
const SLEEP_MS = 200;
/** Worker slots: more than enough for the rate, so placement never waits for a slot. */
const SLOTS = 40;

/** The figures of one kill. */
export interface KillFigures {
  killed: string;
  /** SIGKILL → the standby's /readyz says leader (bench clock). */
  takeoverSeconds: number;
  /** SIGKILL → the first placement after it (SCHEDULED event, database clock). */
  secondsWithoutPlacements: number;
  /** The new leader's own figure: lock taken → its term running (consumers, placer). */
  termStartMs: number | undefined;
}

/** The figures of the run. */
export interface FailoverFigures {
  n: number;
  scheduler: KillFigures;
  healthMonitor: KillFigures;
  /** Workloads with exactly one COMPLETED event. */
  completedOnce: number;
  /** Workloads with more than one COMPLETED event (must be 0). */
  duplicated: number;
  /** Workloads submitted but not COMPLETED at the end (must be 0). */
  lost: number;
  /** Most SCHEDULED + RUNNING rows seen on one worker, sampled every 25 ms (must be ≤ slots). */
  peakPerWorker: number;
  slots: number;
  /** Workers declared dead during the run (must be 0: none died). */
  workersDeclaredDead: number;
  /**
   * Runs sent back to PENDING. A false death would do it; so does a placement the killed leader
   * committed but never published (handed back after ASSIGNMENT_START_DEADLINE_MS).
   */
  requeued: number;
  /** Why they were sent back, with how many. */
  requeueReasons: Record<string, number>;
}

async function requeueReasons(db: Kysely<Database>, tag: string): Promise<Record<string, number>> {
  const { rows } = await sql<{ reason: string | null; n: number }>`
    select left(coalesce(e.reason, ''), 80) as reason, count(*)::int as n from workload_events e
    join workloads w on w.id = e.workload_id
    where w.labels @> ${JSON.stringify({ [BENCH_LABEL]: tag })}::jsonb
      and e.from_status in ('SCHEDULED', 'RUNNING') and e.to_status = 'PENDING'
    group by 1 order by 2 desc`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.reason ?? '', r.n]));
}

const dbNowMs = async (db: Kysely<Database>) =>
  Number(
    (
      await sql<{ ms: number }>`select extract(epoch from clock_timestamp()) * 1000 as ms`.execute(
        db,
      )
    ).rows[0]!.ms,
  );

async function roleOf(url: string | undefined): Promise<string | undefined> {
  if (url === undefined) return undefined;
  try {
    const res = await fetch(url);
    return ((await res.json()) as { role?: string }).role;
  } catch {
    return undefined;
  }
}

async function leaderOf(sys: BenchSystem, service: string): Promise<string> {
  for (const name of [service, `${service}-2`]) {
    if ((await roleOf(sys.readyUrls.get(name))) === 'leader') return name;
  }
  throw new ScenarioError(SCENARIO, `no ${service} instance says it leads`);
}

/** SIGKILLs the leader of `service`, times the standby's takeover and the next placement. */
async function killLeader(
  sys: BenchSystem,
  service: 'scheduler' | 'health-monitor',
  tag: string,
  signal: AbortSignal,
): Promise<KillFigures> {
  const killed = await leaderOf(sys, service);
  const standby = killed === service ? `${service}-2` : service;
  const killedAt = nowMs();
  await sys.processes.get(killed)!.kill('SIGKILL');
  // Read once it has exited: every placement after this instant is the new leader's.
  const killedAtDb = await dbNowMs(sys.db);
  let takeoverSeconds = NaN;
  const deadline = killedAt + 60_000;
  while (nowMs() < deadline) {
    if (signal.aborted) throw new BenchAbortedError();
    if ((await roleOf(sys.readyUrls.get(standby))) === 'leader') {
      takeoverSeconds = (nowMs() - killedAt) / 1000;
      break;
    }
    await delay(20);
  }
  if (Number.isNaN(takeoverSeconds))
    throw new ScenarioError(SCENARIO, `${standby} did not take over within 60 s`);
  const first = await waitForPlacementAfter(sys.db, tag, killedAtDb, signal);
  const started = sys.processes
    .get(standby)!
    .output()
    .split('\n')
    .find((l) => l.includes('"msg":"leader term started"'));
  const termStartMs =
    started === undefined ? undefined : (JSON.parse(started) as { tookMs?: number }).tookMs;
  return {
    termStartMs,
    killed,
    takeoverSeconds: roundTo(takeoverSeconds, 3),
    secondsWithoutPlacements: roundTo((first - killedAtDb) / 1000, 3),
  };
}

async function waitForPlacementAfter(
  db: Kysely<Database>,
  tag: string,
  afterMs: number,
  signal: AbortSignal,
): Promise<number> {
  const deadline = nowMs() + 60_000;
  while (nowMs() < deadline) {
    if (signal.aborted) throw new BenchAbortedError();
    const { rows } = await sql<{ ms: number | null }>`
      select extract(epoch from min(e.at)) * 1000 as ms from workload_events e
      join workloads w on w.id = e.workload_id
      where e.to_status = 'SCHEDULED' and e.at > to_timestamp(${afterMs / 1000})
        and w.labels @> ${JSON.stringify({ [BENCH_LABEL]: tag })}::jsonb`.execute(db);
    if (rows[0]?.ms != null) return Number(rows[0].ms);
    await delay(50);
  }
  throw new ScenarioError(SCENARIO, 'no placement within 60 s of the kill');
}

/**
 * Samples the SCHEDULED and RUNNING rows per worker (each sample one consistent snapshot: the
 * state the scheduler's usage ledger keeps) until stopped; returns the most seen on one worker.
 */
function watchPeakPerWorker(db: Kysely<Database>, tag: string): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from workloads
        where status in ('SCHEDULED', 'RUNNING') and worker_id is not null
          and labels @> ${JSON.stringify({ [BENCH_LABEL]: tag })}::jsonb
        group by worker_id`.execute(db);
      for (const r of rows) peak = Math.max(peak, r.n);
      await delay(25);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

async function outcome(db: Kysely<Database>, tag: string) {
  const { rows } = await sql<{ once: number; duplicated: number; lost: number; requeued: number }>`
    with mine as (
      select id, status from workloads where labels @> ${JSON.stringify({ [BENCH_LABEL]: tag })}::jsonb),
    done as (
      select e.workload_id, count(*) as n from workload_events e join mine on mine.id = e.workload_id
      where e.to_status = 'COMPLETED' group by e.workload_id)
    select
      (select count(*) from done where n = 1)::int as once,
      (select count(*) from done where n > 1)::int as duplicated,
      (select count(*) from mine where status <> 'COMPLETED')::int as lost,
      (select count(*) from workload_events e join mine on mine.id = e.workload_id
        where e.from_status in ('SCHEDULED', 'RUNNING') and e.to_status = 'PENDING')::int as requeued`.execute(
    db,
  );
  return rows[0]!;
}

/**
 * Submits a steady stream of short workloads to two schedulers and two health monitors (default
 * election timings), SIGKILLs the leading scheduler a third of the way in and the leading health
 * monitor two thirds in, and reports the gaps and whether every workload completed exactly once.
 */
export async function runFailover(ctx: ScenarioContext): Promise<ScenarioReport> {
  const { args, progress, signal } = ctx;
  const n = Math.max(BATCH * 30, Math.ceil(args.n / BATCH) * BATCH);
  const workers = 2;
  progress.log(
    `${SCENARIO}: ${n} sleep workloads of ${SLEEP_MS} ms at ${(BATCH * 1000) / SUBMIT_EVERY_MS}/s; 2 schedulers, 2 health monitors, ${workers} workers of ${SLOTS} slots`,
  );
  await using sys = await startBenchSystem({
    workers,
    slots: SLOTS,
    logLevel: args.logLevel,
    schedulers: 2,
    healthMonitors: 2,
    log: (line) => progress.log(line),
  });
  try {
    const servers = await serverVersions(sys);
    const tag = `${ctx.stamp}-${SCENARIO}`;
    const client = new JsonClient(sys.apiUrl, 4, sys.apiKey);
    const batches = n / BATCH;
    let scheduler: KillFigures | undefined;
    let healthMonitor: KillFigures | undefined;
    const kills: Promise<void>[] = [];
    const peak = watchPeakPerWorker(sys.db, tag);
    for (let b = 0; b < batches; b++) {
      if (signal.aborted) throw new BenchAbortedError();
      const started = nowMs();
      const res = await client.post('/v1/workloads/batch', {
        workloads: Array.from({ length: BATCH }, () => ({
          type: 'sleep',
          input: { durationMs: SLEEP_MS, steps: 1 },
          labels: { [BENCH_LABEL]: tag },
        })),
      });
      if (res.status !== 201 && res.status !== 202)
        throw new ScenarioError(
          SCENARIO,
          `a batch answered ${res.status}: ${JSON.stringify(res.body)}`,
        );
      if (b === Math.floor(batches / 3)) {
        progress.log('SIGKILL the leading scheduler');
        kills.push(
          killLeader(sys, 'scheduler', tag, signal).then((f) => {
            scheduler = f;
          }),
        );
      }
      if (b === Math.floor((2 * batches) / 3)) {
        await Promise.all(kills);
        progress.log('SIGKILL the leading health monitor');
        kills.push(
          killLeader(sys, 'health-monitor', tag, signal).then((f) => {
            healthMonitor = f;
          }),
        );
      }
      await delay(Math.max(0, SUBMIT_EVERY_MS - (nowMs() - started)));
    }
    await Promise.all(kills);
    progress.log('waiting for every workload to finish');
    const deadline = nowMs() + 180_000;
    let last = await outcome(sys.db, tag);
    while (last.lost > 0 && nowMs() < deadline) {
      if (signal.aborted) throw new BenchAbortedError();
      await delay(500);
      last = await outcome(sys.db, tag);
    }
    const dead = await sql<{ n: number }>`
      select count(*)::int as n from workers where status = 'DEAD'`.execute(sys.db);
    const figures: FailoverFigures = {
      n,
      scheduler: scheduler!,
      healthMonitor: healthMonitor!,
      completedOnce: last.once,
      duplicated: last.duplicated,
      lost: last.lost,
      peakPerWorker: await peak.stop(),
      slots: SLOTS,
      workersDeclaredDead: dead.rows[0]!.n,
      requeued: last.requeued,
      requeueReasons: await requeueReasons(sys.db, tag),
    };
    if (figures.requeued > 0) progress.log(`requeued: ${JSON.stringify(figures.requeueReasons)}`);
    const table: TableRow[] = [
      {
        figure: 'scheduler: s without placements after SIGKILL',
        value: format(figures.scheduler.secondsWithoutPlacements),
        target: `≤ ${FAILOVER_TARGET_SECONDS}`,
        verdict: atMost(figures.scheduler.secondsWithoutPlacements, FAILOVER_TARGET_SECONDS, 's'),
      },
      {
        figure: 'scheduler: s to takeover (/readyz)',
        value: format(figures.scheduler.takeoverSeconds),
      },
      {
        figure: 'scheduler: ms from lock to term running',
        value: String(figures.scheduler.termStartMs ?? 'n/a'),
      },
      {
        figure: 'health monitor: s to takeover (/readyz)',
        value: format(figures.healthMonitor.takeoverSeconds),
      },
      {
        figure: 'health monitor: s without placements after SIGKILL',
        value: format(figures.healthMonitor.secondsWithoutPlacements),
      },
      {
        figure: 'completed exactly once',
        value: `${figures.completedOnce} / ${n}`,
        target: String(n),
        verdict: figures.completedOnce === n ? 'met' : 'missed',
      },
      {
        figure: 'duplicated',
        value: String(figures.duplicated),
        target: '0',
        verdict: figures.duplicated === 0 ? 'met' : 'missed',
      },
      {
        figure: 'lost',
        value: String(figures.lost),
        target: '0',
        verdict: figures.lost === 0 ? 'met' : 'missed',
      },
      {
        figure: 'peak runs on one worker (sampled)',
        value: String(figures.peakPerWorker),
        target: `≤ ${SLOTS}`,
        verdict: figures.peakPerWorker <= SLOTS ? 'met' : 'missed',
      },
      {
        figure: 'workers declared dead (false DEAD)',
        value: String(figures.workersDeclaredDead),
        target: '0',
        verdict: figures.workersDeclaredDead === 0 ? 'met' : 'missed',
      },
      {
        figure: 'runs handed back (any reason; see requeueReasons)',
        value: String(figures.requeued),
      },
    ];
    return {
      n,
      servers,
      figures: { failover: figures },
      table,
      settings: {
        batch: BATCH,
        submitEveryMs: SUBMIT_EVERY_MS,
        sleepMs: SLEEP_MS,
        slots: SLOTS,
        workers,
      },
    };
  } catch (err) {
    if (err instanceof ScenarioError) progress.log(`service output:\n${sys.output()}`);
    throw err;
  }
}
