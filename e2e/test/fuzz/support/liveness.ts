import { waitFor } from '@niyanta/testing';
import { sql } from 'kysely';
import { serviceConsumers, stalledConsumers } from './consumers.js';
import { HEARTBEAT_TIMEOUT_MS, SWEEP_INTERVAL_MS } from './fuzz-system.js';
import type { FuzzSystem } from './fuzz-system.js';

/**
 * How late a death may be declared past HEARTBEAT_TIMEOUT_MS plus a sweep interval: the
 * heartbeat in flight when the worker stopped, and a machine shared by several test runs.
 */
const DEATH_SLACK_MS = 2_000;
/** A silent worker must be DEAD this long after its last heartbeat at the latest. */
export const DEATH_DEADLINE_MS = HEARTBEAT_TIMEOUT_MS + SWEEP_INTERVAL_MS + DEATH_SLACK_MS;

/** What one probe found. */
export interface ProbeResult {
  ok: boolean;
  ms: number;
  /** One line per check that failed. */
  failures: string[];
  stalledConsumers: string[];
}

let canaries = 0;

/** Ordinary workloads submitted over HTTP complete within the deadline. */
async function ordinaryWorkloadsComplete(f: FuzzSystem, timeoutMs: number): Promise<string[]> {
  const bodies = [
    { type: 'noop', input: { probe: 1 } },
    { type: 'noop', input: { probe: 2 } },
    { type: 'noop', input: { probe: 3 } },
    { type: 'sleep', input: { durationMs: 200, steps: 2 } },
    { type: 'sleep', input: { durationMs: 300, steps: 1 } },
  ];
  const ids: string[] = [];
  for (const body of bodies) {
    try {
      ids.push((await f.submit(body)).id);
    } catch (err) {
      return [`an ordinary ${body.type} could not be submitted: ${(err as Error).message}`];
    }
  }
  try {
    await f.waitCompleted(ids, timeoutMs);
    return [];
  } catch (err) {
    return [`ordinary workloads: ${(err as Error).message}`];
  }
}

/**
 * Workers (real or only heard of through a heartbeat) whose last heartbeat is older than the
 * death deadline but which are not DEAD: the dead-worker sweep is not doing its job.
 */
async function overdueWorkers(f: FuzzSystem): Promise<string[]> {
  const { rows } = await sql<{ id: string; status: string; silent_ms: number }>`
    select id, status, (extract(epoch from now() - heard_at) * 1000)::float8 as silent_ms
    from workers
    where status <> 'DEAD' and heard_at < now() - make_interval(secs => ${DEATH_DEADLINE_MS / 1000})
  `.execute(f.sys.db);
  return rows.map(
    (r) =>
      `worker ${JSON.stringify(r.id.slice(0, 60))} is ${r.status} ${Math.round(r.silent_ms)} ms after its last heartbeat (deadline ${DEATH_DEADLINE_MS} ms)`,
  );
}

/**
 * Starts a worker, stops it (SIGSTOP, or SIGKILL with `kill`) once it is ACTIVE, and checks that
 * it is declared DEAD within {@link DEATH_DEADLINE_MS}. The worker is killed afterwards.
 */
export async function silentWorkerDeclaredDead(
  f: FuzzSystem,
  opts: { kill?: boolean } = {},
): Promise<string[]> {
  const id = `fz-canary-${process.pid}-${++canaries}`;
  const worker = await f.sys.startWorker({ id, slots: 1 });
  try {
    await waitFor(
      async () => {
        const row = await f.sys.db
          .selectFrom('workers')
          .select('status')
          .where('id', '=', id)
          .executeTakeFirst();
        return row?.status === 'ACTIVE' ? true : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50, message: `worker ${id} to be ACTIVE` },
    );
    if (opts.kill) await worker.kill('SIGKILL');
    else worker.signal('SIGSTOP');
    const stoppedAt = Date.now();
    try {
      await waitFor(
        async () => {
          const row = await f.sys.db
            .selectFrom('workers')
            .select('status')
            .where('id', '=', id)
            .executeTakeFirst();
          return row?.status === 'DEAD' ? true : undefined;
        },
        { timeoutMs: DEATH_DEADLINE_MS, intervalMs: 50, message: `worker ${id} to be DEAD` },
      );
      return [];
    } catch {
      const row = await f.sys.db
        .selectFrom('workers')
        .select(['status', 'heard_at'])
        .where('id', '=', id)
        .executeTakeFirst();
      return [
        `a ${opts.kill ? 'killed' : 'stopped (SIGSTOP)'} worker was not declared DEAD within ` +
          `${DEATH_DEADLINE_MS} ms (HEARTBEAT_TIMEOUT_MS ${HEARTBEAT_TIMEOUT_MS} + sweep ` +
          `${SWEEP_INTERVAL_MS} + slack): still ${row?.status ?? 'unknown'} ` +
          `${Date.now() - stoppedAt} ms after it stopped`,
      ];
    }
  } finally {
    await worker.kill('SIGKILL');
  }
}

/**
 * The liveness probe: ordinary workloads (`noop`, a short `sleep`) submitted over HTTP complete;
 * every service consumer (and each worker's) returns to nothing un-acked (and nothing pending on
 * a work queue); no worker stays alive past the death deadline after its last heartbeat; a
 * worker that stops is declared DEAD on time.
 */
export async function probeLiveness(
  f: FuzzSystem,
  opts: { workloadTimeoutMs?: number; drainTimeoutMs?: number; kill?: boolean } = {},
): Promise<ProbeResult> {
  const started = Date.now();
  const failures: string[] = [];
  failures.push(...(await ordinaryWorkloadsComplete(f, opts.workloadTimeoutMs ?? 20_000)));
  const stalled = await stalledConsumers(
    f.jsm,
    serviceConsumers(f.workerIds),
    opts.drainTimeoutMs ?? 15_000,
  );
  for (const s of stalled) failures.push(`consumer stalled: ${s}`);
  failures.push(...(await silentWorkerDeclaredDead(f, { kill: opts.kill })));
  failures.push(...(await overdueWorkers(f)));
  return {
    ok: failures.length === 0,
    ms: Date.now() - started,
    failures,
    stalledConsumers: stalled,
  };
}

/** Runs the probe and throws, listing every failed check, unless the system is live. */
export async function expectLive(
  f: FuzzSystem,
  opts: Parameters<typeof probeLiveness>[1] = {},
): Promise<ProbeResult> {
  const result = await probeLiveness(f, opts);
  if (!result.ok)
    throw new Error(
      `the system is not live:\n- ${result.failures.join('\n- ')}\n${f.sys.output()}`,
    );
  return result;
}
