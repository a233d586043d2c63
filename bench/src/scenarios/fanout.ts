import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { BenchAbortedError, ScenarioError } from '../errors.js';
import { JsonClient } from '../http-client.js';
import type { ScenarioContext, ScenarioReport, TableRow } from '../scenario-context.js';
import { roundTo } from '../stats.js';
import { serverVersions } from '../server-versions.js';
import { benchBackendPids, cpuDelta, openSystem, repoRoot } from '../system.js';
import { format } from '../targets.js';
import { BENCH_LABEL } from '../workload-rows.js';

const SCENARIO = 'fanout';

/** The parent's workload type: bench/workloads/fanout.mjs, on the workers' WORKLOAD_MODULES. */
export const FANOUT_TYPE = 'bench.fanout';
/** Where the bench's own workload modules are (its workers load them). */
export const BENCH_WORKLOADS_DIR = join(repoRoot(), 'bench', 'workloads');
const POLL_MS = 250;

/** Where one fan-out has got, from PostgreSQL. */
interface FanoutState {
  status: string;
  attempt: number;
  result: { count: number; sum: number } | null;
  spawned: number;
  ended: number;
  /** On the database's clock, in ms since the epoch. */
  createdMs: number;
  finishedMs: number | null;
  lastSpawnedMs: number | null;
  lastEndedMs: number | null;
}

async function readState(db: Kysely<Database>, parentId: string): Promise<FanoutState> {
  const { rows } = await sql<{
    status: string;
    attempt: number;
    result: FanoutState['result'];
    spawned: number;
    ended: number;
    created_ms: number;
    finished_ms: number | null;
    last_spawned_ms: number | null;
    last_ended_ms: number | null;
  }>`
    select p.status, p.attempt, p.result,
      extract(epoch from p.created_at) * 1000 as created_ms,
      extract(epoch from p.finished_at) * 1000 as finished_ms,
      c.spawned, c.ended, c.last_spawned_ms, c.last_ended_ms
    from workloads p cross join lateral (
      select count(*)::int as spawned,
        count(*) filter (where status in ('COMPLETED', 'FAILED', 'CANCELLED'))::int as ended,
        extract(epoch from max(created_at)) * 1000 as last_spawned_ms,
        extract(epoch from max(finished_at)) * 1000 as last_ended_ms
      from workloads where parent_id = p.id) c
    where p.id = ${parentId}`.execute(db);
  const r = rows[0];
  if (r === undefined)
    throw new ScenarioError(SCENARIO, `the parent workload ${parentId} is not in PostgreSQL`);
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    status: r.status,
    attempt: r.attempt,
    result: r.result,
    spawned: r.spawned,
    ended: r.ended,
    createdMs: Number(r.created_ms),
    finishedMs: num(r.finished_ms),
    lastSpawnedMs: num(r.last_spawned_ms),
    lastEndedMs: num(r.last_ended_ms),
  };
}

/**
 * `fanout`: ONE parent (`bench.fanout`) that spawns `--n` children (`noop`, one spawnMany) and
 * gathers all their results, waiting durably without a slot. Measures submit → gathered (the
 * parent COMPLETED, on the database's clock from its created_at), children per second over it,
 * and its parts: submit → every child row in PostgreSQL, → every child ended, → the parent
 * woken and done. Checks the parent saw every result (their count and sum).
 */
export async function runFanout(ctx: ScenarioContext): Promise<ScenarioReport> {
  const { args, progress, signal } = ctx;
  const n = args.n;
  const tag = `${ctx.stamp}-${SCENARIO}`;
  progress.log(
    `${SCENARIO}: one parent spawning ${n} noop children and gathering them, ${args.workers} worker(s) × ${args.slots} slots`,
  );
  await using sys = await openSystem(args, {
    workerEnv: { WORKLOAD_MODULES: BENCH_WORKLOADS_DIR },
    log: (line) => progress.log(line),
  });
  const servers = await serverVersions(sys);
  const client = new JsonClient(sys.apiUrl, 1, sys.apiKey);
  const benchPids = await benchBackendPids(sys.db);
  const cpuBefore = sys.cpuSnapshot(benchPids);
  const res = await client
    .post('/v1/workloads', {
      type: FANOUT_TYPE,
      input: { n },
      // The fan-out is the measure: no retries hiding a failure.
      maxAttempts: 1,
      labels: { [BENCH_LABEL]: tag },
    })
    .finally(() => client.close());
  if (res.status !== 201 && res.status !== 202) {
    throw new ScenarioError(
      SCENARIO,
      `submitting the parent answered ${res.status}: ${JSON.stringify(res.body)}`,
    );
  }
  const parentId = (res.body as { id: string }).id;

  let state: FanoutState;
  let lastKey = '';
  let lastChange = Date.now();
  for (;;) {
    if (signal.aborted) throw new BenchAbortedError({ cause: signal.reason });
    state = await readState(sys.db, parentId);
    progress.update(
      `${SCENARIO}: parent ${state.status}, ${state.spawned}/${n} children spawned, ${state.ended} ended`,
    );
    if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(state.status)) break;
    const key = `${state.status}/${state.spawned}/${state.ended}`;
    if (key !== lastKey) {
      lastKey = key;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > args.stallSeconds * 1000) {
      throw new ScenarioError(
        SCENARIO,
        `nothing progressed for ${args.stallSeconds} s: parent ${state.status}, ${state.spawned}/${n} children spawned, ${state.ended} ended. ` +
          'Check the services (their output follows when the bench started them) or raise --stall.',
      );
    }
    await delay(POLL_MS, undefined, { signal }).catch(() => undefined);
  }
  const cpu = cpuDelta(cpuBefore, sys.cpuSnapshot(benchPids));
  progress.finish();
  const expectedSum = (n * (n - 1)) / 2;
  if (
    state.status !== 'COMPLETED' ||
    state.result?.count !== n ||
    state.result.sum !== expectedSum ||
    state.spawned !== n
  ) {
    throw new ScenarioError(
      SCENARIO,
      `the parent ended ${state.status} with ${JSON.stringify(state.result)} and ${state.spawned} child rows; expected COMPLETED with {"count":${n},"sum":${expectedSum}} and ${n} rows.\n${sys.output()}`,
    );
  }
  const t0 = state.createdMs;
  const seconds = (ms: number | null) => (ms === null ? null : roundTo((ms - t0) / 1000, 3));
  const gatheredSeconds = seconds(state.finishedMs)!;
  const figures = {
    submitToGatheredSeconds: gatheredSeconds,
    childrenPerSecond: roundTo(n / gatheredSeconds, 0),
    submitToAllSpawnedSeconds: seconds(state.lastSpawnedMs),
    submitToAllEndedSeconds: seconds(state.lastEndedMs),
    // The last child's end → the parent woken, placed, replayed and COMPLETED.
    lastChildToGatheredMs:
      state.lastEndedMs === null ? null : Math.round(state.finishedMs! - state.lastEndedMs),
    parentAttempts: state.attempt,
    cpuSeconds: cpu,
  };
  const table: TableRow[] = [
    { figure: 'submit → gathered', value: `${format(gatheredSeconds)} s` },
    { figure: 'children per second', value: format(figures.childrenPerSecond) },
    {
      figure: 'submit → all spawned / all ended',
      value: `${format(figures.submitToAllSpawnedSeconds ?? 0)} s / ${format(figures.submitToAllEndedSeconds ?? 0)} s`,
    },
    { figure: 'last child → parent done', value: `${figures.lastChildToGatheredMs ?? '-'} ms` },
  ];
  return {
    n,
    servers,
    figures,
    table,
    settings: { workers: args.workers, slots: args.slots, layout: args.layouts[0] },
  };
}
