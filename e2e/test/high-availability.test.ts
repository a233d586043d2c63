import type { ClusterV1, WorkloadV1 } from '@niyanta/messages';
import { freePort, startServiceProcess, waitFor, waitForHttpReady } from '@niyanta/testing';
import type { ServiceProcess } from '@niyanta/testing';
import { sql } from 'kysely';
import { readSse } from './support/sse.js';
import { E2E_AUTH, E2E_ROOT_KEY, eventsOf, startSystem } from './support/system.js';
import type { System } from './support/system.js';

// Two schedulers and two health monitors (one leads each, the other stands by), two api
// instances: a standby says so on /readyz, GET /v1/cluster names the leaders, the leading
// scheduler and health monitor are killed while work runs, and every workload still completes
// exactly once with no worker declared dead. The election runs with its default timings.
jest.setTimeout(180_000);

let sys: System;
let api2: ServiceProcess | undefined;
let api2Url: string;

beforeAll(async () => {
  sys = await startSystem({
    workers: [
      { id: 'ha-a', slots: 3 },
      { id: 'ha-b', slots: 3 },
    ],
    schedulers: 2,
    healthMonitors: 2,
  });
  // A second api on the same broker and database: nothing in memory is shared with the first.
  const port = await freePort();
  api2Url = `http://127.0.0.1:${port}`;
  api2 = await startServiceProcess({
    service: 'api',
    name: 'api-2',
    env: {
      ...sys.brokerEnv('api'),
      DATABASE_URL: sys.database.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      SUBMIT_WAIT_MS: '5000',
      API_ROOT_KEY: E2E_ROOT_KEY,
      LOG_LEVEL: 'info',
    },
  });
  await waitForHttpReady(`${api2Url}/readyz`, 30_000);
});

afterAll(async () => {
  await api2?.kill('SIGKILL').catch(() => undefined);
  await sys?.[Symbol.asyncDispose]();
});

const readyz = async (name: string) =>
  (await (await fetch(sys.readyUrl(name))).json()) as { status: string; role?: string };

async function cluster(): Promise<ClusterV1> {
  const res = await fetch(`${api2Url}/v1/cluster`, { headers: E2E_AUTH });
  expect(res.status).toBe(200);
  return (await res.json()) as ClusterV1;
}

/** Exactly one COMPLETED event per workload, and every one of them COMPLETED. */
async function expectCompletedOnce(ids: readonly string[]) {
  for (const id of ids) await sys.waitForStatus(id, 'COMPLETED', 60_000);
  const res = await sql<{ workload_id: string; n: number }>`
    select workload_id, count(*)::int as n from workload_events
    where to_status = 'COMPLETED' and workload_id = any(${ids}::uuid[])
    group by workload_id`.execute(sys.db);
  expect(res.rows).toHaveLength(ids.length);
  expect(res.rows.every((r) => r.n === 1)).toBe(true);
}

/**
 * Samples the SCHEDULED and RUNNING rows per worker (each sample one consistent snapshot, the
 * state the scheduler's ledger keeps) until stopped; returns the most seen on one worker.
 */
function watchPeakPerWorker(): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const res = await sql<{ n: number }>`
        select count(*)::int as n from workloads
        where status in ('SCHEDULED', 'RUNNING') and worker_id is not null
        group by worker_id`.execute(sys.db);
      for (const r of res.rows) peak = Math.max(peak, r.n);
      await new Promise((r) => setTimeout(r, 20));
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

describe('high availability', () => {
  it('has one leader and one standby of each led service, on /readyz and GET /v1/cluster', async () => {
    const leader = await waitFor(() => sys.leaderOf('scheduler'), {
      timeoutMs: 20_000,
      message: 'a leading scheduler',
    });
    const standby = leader === 'scheduler' ? 'scheduler-2' : 'scheduler';
    expect(await readyz(leader)).toMatchObject({ status: 'ready', role: 'leader' });
    expect(await readyz(standby)).toMatchObject({ status: 'ready', role: 'standby' });

    const view = await waitFor(
      async () => {
        const c = await cluster();
        const s = c.services.find((x) => x.service === 'scheduler');
        const h = c.services.find((x) => x.service === 'health-monitor');
        const a = c.services.find((x) => x.service === 'api');
        return s?.instances.length === 2 && h?.instances.length === 2 && a?.instances.length === 2
          ? c
          : undefined;
      },
      { timeoutMs: 20_000, message: 'both instances of every service in /v1/cluster' },
    );
    for (const name of ['scheduler', 'health-monitor']) {
      const s = view.services.find((x) => x.service === name)!;
      expect(s.leader).not.toBeNull();
      expect(s.instances.map((i) => i.role).sort()).toEqual(['leader', 'standby']);
      expect(s.instances.find((i) => i.role === 'leader')!.instanceId).toBe(s.leader!.instanceId);
    }
    expect(view.services.find((x) => x.service === 'api')!.leader).toBeNull();
  });

  it('serves a workload submitted on one api instance from the other (read and SSE)', async () => {
    const w = await sys.submit({ type: 'sleep', input: { durationMs: 600, steps: 3 } });
    const events = await readSse(`${api2Url}/v1/workloads/${w.id}/events`, (evs) =>
      evs.some(
        (e) =>
          e.event === 'status' &&
          (e.data as { workload: WorkloadV1 }).workload.status === 'COMPLETED',
      ),
    );
    expect(events.some((e) => e.event === 'status')).toBe(true);
    const res = await fetch(`${api2Url}/v1/workloads/${w.id}`, { headers: E2E_AUTH });
    expect(((await res.json()) as WorkloadV1).status).toBe('COMPLETED');
  });

  it('keeps placing after the leading scheduler is killed: each workload completes exactly once', async () => {
    const leader = (await sys.leaderOf('scheduler'))!;
    const standby = leader === 'scheduler' ? 'scheduler-2' : 'scheduler';
    const watch = watchPeakPerWorker();
    const before = await Promise.all(
      Array.from({ length: 12 }, () =>
        sys.submit({ type: 'sleep', input: { durationMs: 800, steps: 4 } }),
      ),
    );
    await sys.services.get(leader)!.kill('SIGKILL');
    await waitFor(async () => ((await readyz(standby)).role === 'leader' ? true : undefined), {
      timeoutMs: 20_000,
      message: `${standby} to take over`,
    });
    const after = await Promise.all(
      Array.from({ length: 12 }, () =>
        sys.submit({ type: 'sleep', input: { durationMs: 300, steps: 2 } }),
      ),
    );
    await expectCompletedOnce([...before, ...after].map((w) => w.id));
    expect(await watch.stop()).toBeLessThanOrEqual(3); // the workers' slots
    // The killed leader comes back as a standby.
    await sys.restartService(leader);
    expect(await readyz(leader)).toMatchObject({ role: 'standby' });
  });

  it('declares no worker dead while the leading health monitor is replaced', async () => {
    const leader = (await sys.leaderOf('health-monitor'))!;
    const standby = leader === 'health-monitor' ? 'health-monitor-2' : 'health-monitor';
    const running = await sys.submit({ type: 'sleep', input: { durationMs: 4000, steps: 8 } });
    await sys.waitForStatus(running.id, 'RUNNING');
    await sys.services.get(leader)!.kill('SIGKILL');
    await waitFor(async () => ((await readyz(standby)).role === 'leader' ? true : undefined), {
      timeoutMs: 20_000,
      message: `${standby} to take over`,
    });
    // Past the new leader's first sweep (one heartbeat timeout after it took over).
    await sys.services.get(standby)!.waitForLine(/"msg":"health monitor leading"/, 20_000);
    await sys.waitForStatus(running.id, 'COMPLETED', 60_000);
    const rows = await sys.db.selectFrom('workers').select(['id', 'status']).execute();
    expect(rows.filter((r) => r.id.startsWith('ha-')).map((r) => r.status)).toEqual([
      'ACTIVE',
      'ACTIVE',
    ]);
    expect((await eventsOf(sys.db, running.id)).map((e) => e.to_status)).toEqual([
      'PENDING',
      'SCHEDULED',
      'RUNNING',
      'COMPLETED',
    ]);
  });
});
