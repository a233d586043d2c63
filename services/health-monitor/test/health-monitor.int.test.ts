import { randomUUID } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { CONSUMERS, decode, envelope, publishOne, STREAMS, SUBJECTS } from '@niyanta/messages';
import type { HeartbeatV1, WorkerDeadV1 } from '@niyanta/messages';
import { ConfigError, connectNats, createLogger } from '@niyanta/runtime';
import type { Nats } from '@niyanta/runtime';
import { createTestDatabase, startNatsServer, waitFor } from '@niyanta/testing';
import type { NatsServerHandle, TestDatabase } from '@niyanta/testing';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { start } from '../src/index.js';
import type { Config } from '../src/index.js';

// The int project's testTimeout in jest.config.js does not reach the tests (a global-only option).
jest.setTimeout(30_000);

const log = createLogger('health-monitor-test', 'silent');

let server: NatsServerHandle;
let nats: Nats;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'health-monitor-test', log });
});

afterAll(async () => {
  await nats?.close();
  await server?.[Symbol.asyncDispose]();
});

function configFor(database: TestDatabase, overrides: Partial<Config> = {}): Config {
  return {
    NATS_URL: server.url,
    DATABASE_URL: database.url,
    LOG_LEVEL: 'silent',
    HEALTH_PORT: undefined,
    SHUTDOWN_TIMEOUT_MS: 5_000,
    MAX_DELIVER: 5,
    // Long by default, so no sweep interferes with the tests about heartbeats.
    HEARTBEAT_INTERVAL_MS: 1_000,
    HEARTBEAT_TIMEOUT_MS: 60_000,
    DEAD_WORKER_RETENTION_HOURS: 24,
    RECONCILE_GRACE_MS: undefined,
    ASSIGNMENT_START_DEADLINE_MS: 30_000,
    ...overrides,
  };
}

/** A running service on a fresh database, with a pool for the assertions. */
async function setUp(overrides: Partial<Config> = {}) {
  const database = await createTestDatabase();
  const service = await start(configFor(database, overrides), { log });
  const db = createDb(database.url);
  return {
    db,
    async [Symbol.asyncDispose]() {
      await service[Symbol.asyncDispose]();
      await db.destroy();
      await database[Symbol.asyncDispose]();
    },
  };
}

const newWorkerId = () => `w-${randomUUID().slice(0, 8)}`;

function heartbeat(workerId: string, overrides: Partial<HeartbeatV1> = {}): HeartbeatV1 {
  return {
    ...envelope(),
    workerId,
    status: 'ACTIVE',
    capacity: { slots: 4, cpu: 2, memoryMb: 2048, gpu: 0 },
    labels: { pool: 'blue' },
    zone: 'zone-a',
    types: ['sleep', 'exec'],
    running: [],
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    intervalMs: 1_000,
    ...overrides,
  };
}

async function publishHeartbeat(hb: HeartbeatV1): Promise<void> {
  await publishOne(nats.js, {
    kind: 'heartbeat',
    subject: SUBJECTS.heartbeat(hb.workerId),
    message: hb,
  });
}

const workerRow = (db: Kysely<Database>, id: string) =>
  db.selectFrom('workers').selectAll().where('id', '=', id).executeTakeFirst();

/** The next `workerDead` message for a worker, read through a test consumer of its own. */
async function nextWorkerDead(
  js: JetStreamClient,
  jsm: JetStreamManager,
  workerId: string,
): Promise<WorkerDeadV1> {
  const name = `test-dead-${workerId}`;
  await jsm.consumers.add(STREAMS.workerDead.name, {
    durable_name: name,
    filter_subject: SUBJECTS.workerDead(workerId),
    ack_policy: 'explicit' as never,
  });
  const consumer = await js.consumers.get(STREAMS.workerDead.name, name);
  try {
    const msg = await consumer.next({ expires: 10_000 });
    if (msg === null) throw new Error(`no workerDead message for ${workerId} within 10 s`);
    msg.ack();
    const decoded = decode('workerDead', msg.data);
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(msg.subject).toBe(`niyanta.worker.dead.${workerId}`);
    return decoded.value;
  } finally {
    await jsm.consumers.delete(STREAMS.workerDead.name, name);
  }
}

describe('health monitor', () => {
  it('creates a worker row from its first heartbeat', async () => {
    await using t = await setUp();
    const id = newWorkerId();
    const hb = heartbeat(id, {
      running: [{ workloadId: randomUUID(), attempt: 1, fraction: 0.5 }],
    });
    await publishHeartbeat(hb);

    const row = await waitFor(() => workerRow(t.db, id), {
      message: `worker ${id} to be registered`,
    });
    expect(row).toMatchObject({
      status: 'ACTIVE',
      capacity: { slots: 4, cpu: 2, memoryMb: 2048, gpu: 0 },
      free_slots: 3,
      labels: { pool: 'blue' },
      zone: 'zone-a',
      types: ['sleep', 'exec'],
      running: hb.running,
      heartbeat_interval_ms: 1_000,
      dead_at: null,
    });
    expect(row.last_heartbeat_at.toISOString()).toBe(hb.time);
    expect(row.started_at.toISOString()).toBe(hb.startedAt);
  });

  it('updates the row from a newer heartbeat', async () => {
    await using t = await setUp();
    const id = newWorkerId();
    await publishHeartbeat(heartbeat(id));
    await waitFor(() => workerRow(t.db, id), { message: 'the first heartbeat' });

    const later = heartbeat(id, {
      time: new Date(Date.now() + 1_000).toISOString(),
      status: 'DRAINING',
      types: ['sleep'],
      running: [
        { workloadId: randomUUID(), attempt: 1 },
        { workloadId: randomUUID(), attempt: 3 },
      ],
    });
    await publishHeartbeat(later);
    const row = await waitFor(
      async () => {
        const r = await workerRow(t.db, id);
        return r?.status === 'DRAINING' ? r : undefined;
      },
      { message: 'the newer heartbeat to be applied' },
    );
    expect(row).toMatchObject({ free_slots: 2, types: ['sleep'], running: later.running });
    expect(row.last_heartbeat_at.toISOString()).toBe(later.time);
  });

  it('does not let an older heartbeat overwrite a newer one', async () => {
    await using t = await setUp();
    const id = newWorkerId();
    const newer = heartbeat(id, { types: ['newer'] });
    await publishHeartbeat(newer);
    await waitFor(() => workerRow(t.db, id), { message: 'the newer heartbeat' });

    const older = heartbeat(id, {
      time: new Date(Date.parse(newer.time) - 5_000).toISOString(),
      types: ['older'],
      status: 'DRAINING',
    });
    await publishHeartbeat(older);
    // Barrier: heartbeats are handled in order, so once this worker shows up the old beat was handled.
    const barrier = newWorkerId();
    await publishHeartbeat(heartbeat(barrier));
    await waitFor(() => workerRow(t.db, barrier), { message: 'the barrier heartbeat' });

    const row = await workerRow(t.db, id);
    expect(row).toMatchObject({ status: 'ACTIVE', types: ['newer'] });
    expect(row?.last_heartbeat_at.toISOString()).toBe(newer.time);
  });

  it('terminates an invalid heartbeat and goes on', async () => {
    await using t = await setUp();
    const id = newWorkerId();
    await nats.js.publish(SUBJECTS.heartbeat(id), new TextEncoder().encode('{"workerId": 42}'));
    await publishHeartbeat(heartbeat(id));
    await waitFor(() => workerRow(t.db, id), {
      message: 'the valid heartbeat after the invalid one',
    });
    await waitFor(
      async () => {
        const info = await nats.jsm.consumers.info(
          CONSUMERS.healthMonitorHeartbeats.stream,
          CONSUMERS.healthMonitorHeartbeats.durable_name,
        );
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      { message: 'every heartbeat to be acked or terminated' },
    );
  });

  it('keeps only the newest of several heartbeats of one worker in a batch', async () => {
    await using t = await setUp();
    const id = newWorkerId();
    const base = Date.now();
    const beats = [2, 0, 1].map((i) =>
      heartbeat(id, { time: new Date(base + i * 1_000).toISOString(), types: [`t${i}`] }),
    );
    await Promise.all(beats.map((hb) => publishHeartbeat(hb)));
    const barrier = newWorkerId();
    await publishHeartbeat(heartbeat(barrier));
    await waitFor(() => workerRow(t.db, barrier), { message: 'the barrier heartbeat' });
    const row = await workerRow(t.db, id);
    expect(row).toMatchObject({ types: ['t2'] });
  });

  it('declares a silent worker dead and announces it on niyanta.worker.dead.<id>', async () => {
    await using t = await setUp({ HEARTBEAT_INTERVAL_MS: 100, HEARTBEAT_TIMEOUT_MS: 400 });
    const id = newWorkerId();
    const hb = heartbeat(id);
    await publishHeartbeat(hb);
    await waitFor(() => workerRow(t.db, id), { message: 'the heartbeat' });

    const dead = await waitFor(
      async () => {
        const r = await workerRow(t.db, id);
        return r?.status === 'DEAD' ? r : undefined;
      },
      { message: `worker ${id} to be declared dead` },
    );
    expect(dead.dead_at).toBeInstanceOf(Date);
    expect(dead.dead_at!.getTime()).toBeGreaterThanOrEqual(Date.parse(hb.time) + 400);

    const announced = await nextWorkerDead(nats.js, nats.jsm, id);
    expect(announced).toMatchObject({ workerId: id, lastHeartbeatAt: hb.time });
    expect(announced.reason).toMatch(/^no heartbeat for \d+ ms$/);
    expect(Number(/\d+/.exec(announced.reason!)![0])).toBeGreaterThanOrEqual(400);
  });

  it("judges liveness by when beats arrive, not by the worker's clock", async () => {
    await using t = await setUp({ HEARTBEAT_INTERVAL_MS: 100, HEARTBEAT_TIMEOUT_MS: 400 });
    const id = newWorkerId();
    const lagMs = 60 * 60_000; // a worker whose clock is an hour behind
    let beats = 0;
    // The simulated worker's own heartbeat period; it beats for three timeouts.
    const beating = setInterval(() => {
      beats += 1;
      const time = new Date(Date.now() - lagMs).toISOString();
      void publishHeartbeat(heartbeat(id, { time }));
    }, 100);
    try {
      await waitFor(() => beats >= 12, { timeoutMs: 10_000, message: '12 beats' });
      const row = await workerRow(t.db, id);
      expect(row?.status).toBe('ACTIVE');
      expect(Date.now() - row!.last_heartbeat_at.getTime()).toBeGreaterThan(lagMs - 60_000);
    } finally {
      clearInterval(beating);
    }
    // Once it stops beating it is declared dead by receipt time, as any other.
    await waitFor(async () => (await workerRow(t.db, id))?.status === 'DEAD', {
      message: `worker ${id} to be declared dead after its beats stop`,
    });
  });

  it('marks a worker dead at once on a STOPPED heartbeat', async () => {
    await using t = await setUp();
    const id = newWorkerId();
    await publishHeartbeat(heartbeat(id));
    await waitFor(() => workerRow(t.db, id), { message: 'the heartbeat' });

    const last = heartbeat(id, { status: 'STOPPED', time: new Date(Date.now() + 1).toISOString() });
    await publishHeartbeat(last);
    const row = await waitFor(
      async () => {
        const r = await workerRow(t.db, id);
        return r?.status === 'DEAD' ? r : undefined;
      },
      { message: 'the STOPPED heartbeat to mark the worker dead' },
    );
    expect(row.dead_at).toBeInstanceOf(Date);

    const announced = await nextWorkerDead(nats.js, nats.jsm, id);
    expect(announced).toMatchObject({
      workerId: id,
      lastHeartbeatAt: last.time,
      reason: 'stopped',
    });
  });

  it('makes a dead worker ACTIVE again when it heartbeats', async () => {
    await using t = await setUp();
    const id = newWorkerId();
    const base = Date.now();
    await publishHeartbeat(
      heartbeat(id, { status: 'STOPPED', time: new Date(base).toISOString() }),
    );
    await waitFor(async () => (await workerRow(t.db, id))?.status === 'DEAD', {
      message: 'the worker to be dead',
    });
    await nextWorkerDead(nats.js, nats.jsm, id);

    const back = heartbeat(id, { time: new Date(base + 1_000).toISOString(), types: ['back'] });
    await publishHeartbeat(back);
    const row = await waitFor(
      async () => {
        const r = await workerRow(t.db, id);
        return r?.status === 'ACTIVE' ? r : undefined;
      },
      { message: 'the worker to come back' },
    );
    expect(row).toMatchObject({ dead_at: null, types: ['back'] });
  });

  it('deletes workers dead for longer than the retention', async () => {
    await using t = await setUp({
      HEARTBEAT_INTERVAL_MS: 100,
      HEARTBEAT_TIMEOUT_MS: 400,
      DEAD_WORKER_RETENTION_HOURS: 1,
    });
    const row = (id: string, deadHoursAgo: number) => ({
      id,
      status: 'DEAD',
      capacity: JSON.stringify({ slots: 1, cpu: 1, memoryMb: 1, gpu: 0 }),
      free_slots: 1,
      labels: '{}',
      types: '[]',
      running: '[]',
      heartbeat_interval_ms: 1_000,
      last_heartbeat_at: sql<Date>`now() - ${deadHoursAgo + 1}::float8 * interval '1 hour'`,
      started_at: sql<Date>`now() - interval '3 days'`,
      dead_at: sql<Date>`now() - ${deadHoursAgo}::float8 * interval '1 hour'`,
      updated_at: sql<Date>`now()`,
    });
    const [old, recent] = [newWorkerId(), newWorkerId()];
    await t.db
      .insertInto('workers')
      .values([row(old, 2), row(recent, 0.5)])
      .execute();

    await waitFor(async () => (await workerRow(t.db, old)) === undefined, {
      message: 'the long-dead worker to be deleted',
    });
    expect(await workerRow(t.db, recent)).toMatchObject({ status: 'DEAD' });
  });

  it('refuses to start with a timeout below three intervals', async () => {
    await using database = await createTestDatabase();
    await expect(
      start(configFor(database, { HEARTBEAT_INTERVAL_MS: 100, HEARTBEAT_TIMEOUT_MS: 250 }), {
        log,
      }),
    ).rejects.toThrow(ConfigError);
    await expect(
      start(configFor(database, { HEARTBEAT_INTERVAL_MS: 100, HEARTBEAT_TIMEOUT_MS: 250 }), {
        log,
      }),
    ).rejects.toThrow(/HEARTBEAT_TIMEOUT_MS \(250\) is below 3 × HEARTBEAT_INTERVAL_MS \(100\)/);
  });
});
