import { setTimeout as delay } from 'node:timers/promises';
import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { databaseClockOffsetMs, nowMs, uuidv7Floor } from '../db-clock.js';
import { BenchAbortedError, ScenarioError } from '../errors.js';
import { JsonClient } from '../http-client.js';
import type { ScenarioContext, ScenarioReport, TableRow } from '../scenario-context.js';
import { HEARTBEAT_MODES } from '../scenario-names.js';
import type { HeartbeatMode } from '../scenario-names.js';
import { roundTo } from '../stats.js';
import { serverVersions } from '../server-versions.js';
import type { ServerVersions } from '../server-versions.js';
import { startBenchSystem, workerName } from '../system.js';
import type { BenchSystem } from '../system.js';
import { TARGETS, atMost, format } from '../targets.js';
import { waitForPhase } from '../wait-phase.js';
import { BENCH_LABEL, phaseTimings } from '../workload-rows.js';

const SCENARIO = 'recovery';

/** The heartbeat settings of each mode; `default` leaves the services' own defaults. */
const HEARTBEAT_SETTINGS: Record<
  HeartbeatMode,
  { intervalMs: number; timeoutMs: number; env: Record<string, string> }
> = {
  default: { intervalMs: 2_000, timeoutMs: 10_000, env: {} },
  fast: {
    intervalMs: 500,
    timeoutMs: 2_000,
    env: { HEARTBEAT_INTERVAL_MS: '500', HEARTBEAT_TIMEOUT_MS: '2000' },
  },
};

/** The figures of one heartbeat mode. */
export interface RecoveryRun {
  heartbeat: HeartbeatMode;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  n: number;
  killedWorker: string;
  /** Workloads RUNNING on the killed worker when it died. */
  victims: number;
  /** Kill → the last of them back to PENDING (dead worker detected, attempt fenced off). */
  requeuedSeconds: number;
  /** Kill → the last of them RUNNING again elsewhere (a new started event with a higher attempt). */
  recoverySeconds: number;
  /** Kill → every one of the n workloads COMPLETED. */
  allCompleteSeconds: number;
  targetSeconds: number;
  completed: number;
  failedOrCancelled: number;
  /** Victims whose last attempt resumed from a checkpoint (resumedFromStep > 0). */
  resumedFromCheckpoint: number;
}

interface Victim {
  id: string;
  attempt: number;
}

async function runningOn(db: Kysely<Database>, minId: string, tag: string) {
  const { rows } = await sql<{ id: string; attempt: number; worker_id: string | null }>`
    select id, attempt, worker_id from workloads
     where id >= ${minId}::uuid and labels @> ${JSON.stringify({ [BENCH_LABEL]: tag })}::jsonb
       and status = 'RUNNING'`.execute(db);
  return rows;
}

/** Per victim: the first event after the kill that moved it to `status` under a higher attempt. */
async function firstEvents(
  db: Kysely<Database>,
  victims: readonly Victim[],
  status: string,
): Promise<Map<string, number>> {
  const { rows } = await sql<{ workload_id: string; attempt: number; at_ms: number }>`
    select workload_id, attempt, extract(epoch from at) * 1000 as at_ms from workload_events
     where workload_id = any(${victims.map((v) => v.id)}::uuid[]) and to_status = ${status}`.execute(
    db,
  );
  const before = new Map(victims.map((v) => [v.id, v.attempt]));
  const out = new Map<string, number>();
  for (const r of rows) {
    // A requeue keeps the attempt or raises it, depending on where the scheduler increments it;
    // a new RUNNING always has a higher one.
    const old = before.get(r.workload_id)!;
    if (status === 'RUNNING' ? r.attempt <= old : r.attempt < old) continue;
    const at = Number(r.at_ms);
    const seen = out.get(r.workload_id);
    if (seen === undefined || at < seen) out.set(r.workload_id, at);
  }
  return out;
}

async function runOnce(
  ctx: ScenarioContext,
  mode: HeartbeatMode,
): Promise<{ run: RecoveryRun; servers: ServerVersions }> {
  const { args, progress } = ctx;
  const hb = HEARTBEAT_SETTINGS[mode];
  const n = args.n;
  // Each worker must hold all n, or the killed worker's share waits for free slots instead of recovering.
  const slots = Math.max(args.slots, n);
  progress.log(
    `${SCENARIO}/${mode}: heartbeat every ${hb.intervalMs} ms, timeout ${hb.timeoutMs} ms; ${n} sleep workloads of ${args.sleepMs} ms on 2 workers`,
  );
  await using sys: BenchSystem = await startBenchSystem({
    workers: 2,
    slots,
    logLevel: args.logLevel,
    env: hb.env,
    log: (line) => progress.log(line),
  });
  try {
    const servers = await serverVersions(sys);
    return { run: await measure(ctx, sys, mode, hb, n), servers };
  } catch (err) {
    if (err instanceof ScenarioError) progress.log(`service output:\n${sys.output()}`);
    throw err;
  }
}

/** Kills the busier worker and times the redistribution of its workloads. */
async function measure(
  ctx: ScenarioContext,
  system: BenchSystem,
  heartbeat: HeartbeatMode,
  settings: { intervalMs: number; timeoutMs: number },
  count: number,
): Promise<RecoveryRun> {
  const { args, progress, signal } = ctx;
  const tag = `${ctx.stamp}-${SCENARIO}-${heartbeat}`;
  const offset = await databaseClockOffsetMs(system.db);
  const minId = uuidv7Floor(Date.now() - 60_000);
  const client = new JsonClient(system.apiUrl, 4, system.apiKey);
  const steps = Math.max(1, Math.round(args.sleepMs / 1000));
  try {
    const res = await client.post('/v1/workloads/batch', {
      workloads: Array.from({ length: count }, () => ({
        type: 'sleep',
        input: { durationMs: args.sleepMs, steps },
        labels: { [BENCH_LABEL]: tag },
      })),
    });
    if (res.status !== 201 && res.status !== 202) {
      throw new ScenarioError(
        SCENARIO,
        `submitting ${count} sleep workloads answered ${res.status}: ${JSON.stringify(res.body)}`,
      );
    }
  } finally {
    client.close();
  }
  const stallMs = args.stallSeconds * 1000;
  await waitForPhase({
    scenario: SCENARIO,
    db: system.db,
    minId,
    tag,
    expected: () => count,
    done: (c, expected) => c.started >= expected,
    describe: (c) =>
      `${SCENARIO}/${heartbeat}: waiting for all to run: ${c.started}/${count} started`,
    progress,
    signal,
    stallMs,
  });
  // Kill only once every workload has a committed checkpoint, so the figures show a resume,
  // not a restart from zero.
  const checkpointed = async (): Promise<number> => {
    const { rows } = await sql<{ n: string }>`
      select count(distinct c.workload_id) as n from checkpoints c join workloads w on w.id = c.workload_id
       where w.id >= ${minId}::uuid and w.labels @> ${JSON.stringify({ [BENCH_LABEL]: tag })}::jsonb`.execute(
      system.db,
    );
    return Number(rows[0]?.n ?? 0);
  };
  const checkpointDeadline = nowMs() + stallMs;
  for (let have = await checkpointed(); have < count; have = await checkpointed()) {
    if (signal.aborted) throw new BenchAbortedError({ cause: signal.reason });
    if (nowMs() > checkpointDeadline) {
      throw new ScenarioError(
        SCENARIO,
        `only ${have} of ${count} sleep workloads committed a checkpoint within ${Math.round(stallMs / 1000)} s: check the checkpoint service output.`,
      );
    }
    progress.update(`${SCENARIO}/${heartbeat}: waiting for a checkpoint of each: ${have}/${count}`);
    await delay(100);
  }
  const running = await runningOn(system.db, minId, tag);
  const byWorker = new Map<string, Victim[]>();
  for (const r of running) {
    if (r.worker_id === null) continue;
    const list = byWorker.get(r.worker_id) ?? [];
    list.push({ id: r.id, attempt: r.attempt });
    byWorker.set(r.worker_id, list);
  }
  const [killedWorker, victims] = [...byWorker.entries()].sort(
    (a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1),
  )[0] ?? [workerName(1), []];
  if (victims.length === 0) {
    throw new ScenarioError(
      SCENARIO,
      `no workload is RUNNING on a worker (${running.length} running rows)`,
    );
  }
  const proc = system.processes.get(killedWorker);
  if (proc === undefined)
    throw new ScenarioError(SCENARIO, `worker ${killedWorker} is not one the bench started`);
  progress.log(
    `${SCENARIO}/${heartbeat}: SIGKILL ${killedWorker} running ${victims.length} of ${count} (${[...byWorker.entries()].map(([w, l]) => `${w}: ${l.length}`).join(', ')})`,
  );
  const killedAt = nowMs();
  await proc.kill('SIGKILL');

  let requeued = new Map<string, number>();
  let rerun = new Map<string, number>();
  const deadline = killedAt + stallMs;
  for (;;) {
    if (signal.aborted) throw new BenchAbortedError({ cause: signal.reason });
    [requeued, rerun] = await Promise.all([
      firstEvents(system.db, victims, 'PENDING'),
      firstEvents(system.db, victims, 'RUNNING'),
    ]);
    progress.update(
      `${SCENARIO}/${heartbeat} ${((nowMs() - killedAt) / 1000).toFixed(1)} s after the kill: back to PENDING ${requeued.size}/${victims.length}, running again ${rerun.size}/${victims.length}`,
    );
    if (rerun.size >= victims.length) break;
    if (nowMs() > deadline) {
      throw new ScenarioError(
        SCENARIO,
        `${Math.round(stallMs / 1000)} s after killing ${killedWorker}, only ${rerun.size} of its ${victims.length} workloads run again (${requeued.size} back to PENDING). Raise --stall or check the health monitor and scheduler output.`,
      );
    }
    await delay(50);
  }
  progress.finish();
  const counts = await waitForPhase({
    scenario: SCENARIO,
    db: system.db,
    minId,
    tag,
    expected: () => count,
    done: (c, expected) => c.completed + c.failedOrCancelled >= expected,
    describe: (c) =>
      `${SCENARIO}/${heartbeat}: waiting for all to complete: ${c.completed}/${count}`,
    progress,
    signal,
    stallMs: Math.max(stallMs, args.sleepMs * 2),
  });
  progress.finish();
  const rows = await phaseTimings(system.db, minId, tag);
  const lastFinished = Math.max(...rows.map((r) => r.finishedMs ?? 0)) - offset;
  const { rows: resumed } = await sql<{ n: string }>`
    select count(*) as n from workloads
     where id = any(${victims.map((v) => v.id)}::uuid[]) and (result ->> 'resumedFromStep')::int > 0`.execute(
    system.db,
  );
  const latest = (m: Map<string, number>): number =>
    m.size === 0 ? NaN : (Math.max(...m.values()) - offset - killedAt) / 1000;
  const target =
    heartbeat === HEARTBEAT_MODES.fast
      ? TARGETS.recoveryFastSeconds
      : settings.timeoutMs / 1000 + TARGETS.recoveryDefaultSlackSeconds;
  return {
    heartbeat,
    heartbeatIntervalMs: settings.intervalMs,
    heartbeatTimeoutMs: settings.timeoutMs,
    n: count,
    killedWorker,
    victims: victims.length,
    requeuedSeconds: roundTo(latest(requeued), 3),
    recoverySeconds: roundTo(latest(rerun), 3),
    allCompleteSeconds: roundTo((lastFinished - killedAt) / 1000, 3),
    targetSeconds: target,
    completed: counts.completed,
    failedOrCancelled: counts.failedOrCancelled,
    resumedFromCheckpoint: Number(resumed[0]?.n ?? 0),
  };
}

/** `recovery`: SIGKILL one of two workers running long sleeps; time until its share runs again. */
export async function runRecovery(ctx: ScenarioContext): Promise<ScenarioReport> {
  const runs: RecoveryRun[] = [];
  let servers: ServerVersions | undefined;
  for (const mode of ctx.args.heartbeats) {
    const once = await runOnce(ctx, mode);
    runs.push(once.run);
    servers ??= once.servers;
  }
  const table: TableRow[] = [];
  for (const r of runs) {
    const label = `${r.heartbeat} (${r.heartbeatIntervalMs} ms / ${r.heartbeatTimeoutMs} ms)`;
    table.push(
      {
        figure: `${label}: killed`,
        value: `${r.killedWorker} with ${r.victims} of ${r.n} running`,
      },
      { figure: `${label}: kill → back to PENDING s`, value: format(r.requeuedSeconds) },
      {
        figure: `${label}: kill → all running again s`,
        value: format(r.recoverySeconds),
        target: `≤ ${format(r.targetSeconds)}`,
        verdict: atMost(r.recoverySeconds, r.targetSeconds, 's'),
      },
      { figure: `${label}: kill → all completed s`, value: format(r.allCompleteSeconds) },
      {
        figure: `${label}: completed / failed / resumed from checkpoint`,
        value: `${r.completed} / ${r.failedOrCancelled} / ${r.resumedFromCheckpoint} of ${r.victims}`,
      },
    );
  }
  const headline = runs.find((r) => r.heartbeat === HEARTBEAT_MODES.default) ?? runs[0]!;
  return {
    ...(servers === undefined ? {} : { servers }),
    n: ctx.args.n,
    figures: {
      recoverySeconds: headline.recoverySeconds,
      recoverySecondsByHeartbeat: Object.fromEntries(
        runs.map((r) => [r.heartbeat, r.recoverySeconds]),
      ),
      allCompleteSeconds: headline.allCompleteSeconds,
      runs,
    },
    table,
    settings: {
      heartbeats: ctx.args.heartbeats,
      sleepMs: ctx.args.sleepMs,
      workers: 2,
      slots: Math.max(ctx.args.slots, ctx.args.n),
      logLevel: ctx.args.logLevel,
    },
  };
}
