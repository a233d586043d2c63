import { migrateToLatest } from '@niyanta/db';
import { startPostgresServer, waitFor } from '@niyanta/testing';
import type { PostgresHandle } from '@niyanta/testing';
import { startSystem } from './support/system.js';
import type { System } from './support/system.js';

/** How often the checkpoint watcher samples the table while the services are being killed. */
const WATCH_PERIOD_MS = 150;

// Every service killed (SIGKILL) and started again, and the nats-server and the PostgreSQL server
// restarted, while 60 workloads run: each still completes exactly once and no committed
// checkpoint is lost. PostgreSQL is a server of this file's own: the shared one of jest's global
// setup serves the other test files and must never restart.

// Normally about 35 s; the deadlines inside are generous for a loaded machine.
jest.setTimeout(150_000);

/** The checkpoint service's default CHECKPOINT_KEEP: older rows may go, but only by retention. */
const KEEP = 3;
const WORKLOADS = 60;
const WORKERS = [
  { id: 'chaos-a', slots: 3 },
  { id: 'chaos-b', slots: 3 },
];

/** A committed checkpoint row: identified by workload, attempt and seq; newest by (attempt, seq). */
interface CheckpointRow {
  workloadId: string;
  attempt: number;
  seq: number;
  sha256: string;
}

const keyOf = (c: CheckpointRow) => `${c.workloadId}#${c.attempt}.${c.seq}`;
/** Whether `a` is newer than `b` in the checkpoint service's order. */
const newer = (a: CheckpointRow, b: CheckpointRow) =>
  a.attempt > b.attempt || (a.attempt === b.attempt && a.seq > b.seq);

/**
 * Watches the database throughout the run. Checkpoints: a row never changes its content, and a
 * workload's newest checkpoint never goes back (to an older one, or to none). Outcomes: once a
 * workload is COMPLETED its attempt and result never change, as a second success would make them.
 */
class Observer {
  readonly checkpoints = new Map<string, CheckpointRow>();
  readonly newest = new Map<string, CheckpointRow>();
  readonly completed = new Map<string, { attempt: number; result: string }>();
  readonly violations: string[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(private readonly db: System['db']) {
    this.loop = this.run();
  }

  /** The checkpoint rows now; retries while PostgreSQL is down. */
  async checkpointRows(): Promise<CheckpointRow[]> {
    return waitFor(() => this.readCheckpoints().catch(() => undefined), {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: 'the checkpoints table to be readable',
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async readCheckpoints(): Promise<CheckpointRow[]> {
    const rows = await this.db
      .selectFrom('checkpoints')
      .select(['workload_id', 'attempt', 'seq', 'sha256'])
      .execute();
    return rows.map((r) => ({
      workloadId: r.workload_id,
      attempt: r.attempt,
      seq: r.seq,
      sha256: r.sha256,
    }));
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.poll();
      } catch {
        // PostgreSQL is restarting: the next poll sees what changed meanwhile.
      }
      // A sampling period, not a wait for a condition: the watcher looks at the table this often.
      await new Promise((resolve) => setTimeout(resolve, WATCH_PERIOD_MS));
    }
  }

  private async poll(): Promise<void> {
    const newestNow = new Map<string, CheckpointRow>();
    for (const cp of await this.readCheckpoints()) {
      const seen = this.checkpoints.get(keyOf(cp));
      if (seen === undefined) this.checkpoints.set(keyOf(cp), cp);
      else if (seen.sha256 !== cp.sha256)
        this.violations.push(`checkpoint ${keyOf(cp)} changed: ${seen.sha256} -> ${cp.sha256}`);
      const top = newestNow.get(cp.workloadId);
      if (top === undefined || newer(cp, top)) newestNow.set(cp.workloadId, cp);
    }
    for (const [workloadId, before] of this.newest) {
      const now = newestNow.get(workloadId);
      if (now === undefined || newer(before, now))
        this.violations.push(
          `newest checkpoint of ${workloadId} went back from ${keyOf(before)} to ${now === undefined ? 'none' : keyOf(now)}`,
        );
    }
    for (const [workloadId, top] of newestNow) {
      const before = this.newest.get(workloadId);
      if (before === undefined || newer(top, before)) this.newest.set(workloadId, top);
    }

    const done = await this.db
      .selectFrom('workloads')
      .select(['id', 'attempt', 'result'])
      .where('status', '=', 'COMPLETED')
      .execute();
    for (const w of done) {
      const outcome = { attempt: w.attempt, result: JSON.stringify(w.result) };
      const seen = this.completed.get(w.id);
      if (seen === undefined) this.completed.set(w.id, outcome);
      else if (seen.attempt !== outcome.attempt || seen.result !== outcome.result)
        this.violations.push(
          `workload ${w.id} completed twice: ${JSON.stringify(seen)} then ${JSON.stringify(outcome)}`,
        );
    }
  }
}

describe('chaos: services and servers killed mid-run', () => {
  let pg: PostgresHandle | undefined;
  let sys: System | undefined;
  let observer: Observer | undefined;

  beforeAll(async () => {
    pg = await startPostgresServer();
    await migrateToLatest(pg.url);
    sys = await startSystem({ workers: WORKERS, databaseUrl: pg.url });
  }, 120_000);

  afterAll(async () => {
    await observer?.stop();
    await sys?.[Symbol.asyncDispose]();
    await pg?.[Symbol.asyncDispose]();
  });

  it('completes every workload exactly once and loses no committed checkpoint', async () => {
    const s = sys!;
    const server = pg!;
    const ids: string[] = [];
    for (let i = 0; i < WORKLOADS; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, (_, j) => {
          const n = i + j;
          return s.submit(
            n % 6 === 5
              ? { type: 'noop', input: { n } }
              : {
                  type: 'sleep',
                  input: { durationMs: 2000 + ((n * 337) % 2001), steps: 4 + (n % 5) },
                },
          );
        }),
      );
      ids.push(...batch.map((w) => w.id));
    }
    const obs = (observer = new Observer(s.db));

    // After each blow the system must show it recovered before the next one: the component hit
    // records again what only it records (checkpoint rows, outcomes, worker heartbeats).
    const t0 = Date.now();
    const timeline: string[] = [];
    const snapshots: CheckpointRow[][] = [];
    const recovered = async (
      what: string,
      need: { checkpoints?: number; completions?: number; heartbeats?: boolean },
    ) => {
      const since = new Date();
      const from = { checkpoints: obs.checkpoints.size, completions: obs.completed.size };
      timeline.push(`${Date.now() - t0} ms: ${what}; ${JSON.stringify(from)}`);
      const heartbeatsSince = async () => {
        const rows = await s.db
          .selectFrom('workers')
          .select(['id', 'last_heartbeat_at'])
          .where('last_heartbeat_at', '>', since)
          .execute()
          .catch(() => []);
        return rows.length === WORKERS.length;
      };
      await waitFor(
        async () =>
          obs.checkpoints.size >= from.checkpoints + (need.checkpoints ?? 0) &&
          obs.completed.size >= from.completions + (need.completions ?? 0) &&
          (need.heartbeats !== true || (await heartbeatsSince())),
        {
          timeoutMs: 45_000,
          intervalMs: 100,
          message: `recovery after ${what}: ${JSON.stringify(need)} more than ${JSON.stringify(from)}`,
        },
      ).catch(async (err: unknown) => {
        const now = { checkpoints: obs.checkpoints.size, completions: obs.completed.size };
        const workers = await s.db
          .selectFrom('workers')
          .select(['id', 'status', 'last_heartbeat_at'])
          .execute()
          .catch((e: unknown) => String(e));
        throw new Error(
          `${(err as Error).message} Now ${JSON.stringify(now)}, since ${since.toISOString()}, workers ${JSON.stringify(workers)}\n${timeline.join('\n')}\n${s.output()}`,
          { cause: err },
        );
      });
    };
    const blow = async (what: string, fn: () => Promise<unknown>) => {
      snapshots.push(await obs.checkpointRows());
      await fn();
      return what;
    };

    await recovered('start', { checkpoints: 3 });
    await recovered(
      await blow('SIGKILL and restart of the checkpoint service', () =>
        s.restartService('checkpoint'),
      ),
      { checkpoints: 3 },
    );
    await recovered(
      await blow('SIGKILL and restart of the scheduler', () => s.restartService('scheduler')),
      { completions: 2 },
    );
    await recovered(
      await blow('SIGKILL and restart of the health monitor', () =>
        s.restartService('health-monitor'),
      ),
      { heartbeats: true },
    );
    await recovered(
      await blow('restart of the nats-server', async () => {
        await s.nats.kill('SIGKILL');
        await s.nats.restart();
      }),
      { checkpoints: 3, completions: 2, heartbeats: true },
    );
    const unfinishedAtLastBlow = WORKLOADS - obs.completed.size;
    await recovered(
      await blow('restart of PostgreSQL', async () => {
        await server.kill('SIGKILL');
        await server.restart();
      }),
      { checkpoints: 3, completions: 2, heartbeats: true },
    );
    // Otherwise the last blow hit an idle system and proved nothing.
    expect(unfinishedAtLastBlow).toBeGreaterThan(0);

    await waitFor(() => (obs.completed.size === WORKLOADS ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 200,
      message: `all ${WORKLOADS} workloads to complete`,
    }).catch(async (err: unknown) => {
      const open = await s.db
        .selectFrom('workloads')
        .select(['id', 'status', 'attempt', 'pending_reason'])
        .where('status', '!=', 'COMPLETED')
        .execute();
      throw new Error(
        `${(err as Error).message}; not completed: ${JSON.stringify(open)}\n${timeline.join('\n')}\n${s.output()}`,
        { cause: err },
      );
    });
    await observer.stop();
    // No process died on the way (each would have been restarted by nobody).
    const dead: string[] = [];
    for (const [name, proc] of s.services) {
      let exited = false;
      void proc.exited.then(() => (exited = true));
      await new Promise((resolve) => setImmediate(resolve));
      if (exited) dead.push(name);
    }
    expect(dead).toEqual([]);
    // Every workload COMPLETED, with exactly one COMPLETED event, of the attempt that completed.
    const rows = await s.db.selectFrom('workloads').select(['id', 'status', 'attempt']).execute();
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(rows.filter((r) => r.status !== 'COMPLETED')).toEqual([]);
    const completedEvents = await s.db
      .selectFrom('workload_events')
      .select(['workload_id', 'attempt'])
      .where('to_status', '=', 'COMPLETED')
      .execute();
    const eventsById = new Map<string, number[]>();
    for (const e of completedEvents)
      eventsById.set(e.workload_id, [...(eventsById.get(e.workload_id) ?? []), e.attempt]);
    for (const r of rows)
      expect({ id: r.id, attempts: eventsById.get(r.id) }).toEqual({
        id: r.id,
        attempts: [r.attempt],
      });
    expect(obs.violations).toEqual([]);

    // No committed checkpoint lost: each row seen before a blow is still there, unchanged, or
    // retention removed it (then KEEP newer ones of its workload exist).
    const final = await obs.checkpointRows();
    const finalByKey = new Map(final.map((c) => [keyOf(c), c]));
    const lost = snapshots.flat().filter((cp) => {
      const same = finalByKey.get(keyOf(cp));
      if (same !== undefined) return same.sha256 !== cp.sha256;
      const newerKept = final.filter((k) => k.workloadId === cp.workloadId && newer(k, cp));
      return newerKept.length < KEEP;
    });
    expect(lost).toEqual([]);
    expect(snapshots.flat().length).toBeGreaterThan(0);
    const perWorkload = new Map<string, number>();
    for (const c of final) perWorkload.set(c.workloadId, (perWorkload.get(c.workloadId) ?? 0) + 1);
    expect([...perWorkload.values()].filter((n) => n > KEEP)).toEqual([]);

    // Checkpoint attempts never run ahead of the workload: none is from an attempt it never had.
    const finalAttempt = new Map(rows.map((r) => [r.id, r.attempt]));
    const ahead = [...obs.checkpoints.values()].filter(
      (c) => c.attempt > (finalAttempt.get(c.workloadId) ?? 0),
    );
    expect(ahead).toEqual([]);
  });
});
