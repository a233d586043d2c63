import { randomUUID } from 'node:crypto';
import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { decode, envelope, publishOne, STREAMS, SUBJECTS, uuidv7 } from '@niyanta/messages';
import type { ControlV1, HeartbeatV1, WorkerDeadV1 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import type { Logger, Nats } from '@niyanta/runtime';
import { createTestDatabase, startNatsServer, waitFor } from '@niyanta/testing';
import type { NatsServerHandle, TestDatabase } from '@niyanta/testing';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { Reconciler, start } from '../src/index.js';
import type { Config } from '../src/index.js';
import { reconcileOnce } from '../src/reconcile-sweep.js';

// The int project's testTimeout in jest.config.js does not reach the tests (a global-only option).
jest.setTimeout(30_000);

/** The id of the reproduction: a valid heartbeat body, but not a subject token. */
const BAD_ID = 'niyanta.assign.x';

let server: NatsServerHandle;
let nats: Nats;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({
    url: server.url,
    name: 'sweeps-test',
    log: createLogger('sweeps-test', 'silent'),
  });
});

afterAll(async () => {
  await nats?.close();
  await server?.[Symbol.asyncDispose]();
});

/** A silent logger whose `error` calls are recorded (their fields and message). */
function recordingLogger(): { log: Logger; errors: () => [Record<string, unknown>, string][] } {
  const log = createLogger('sweeps-test', 'silent');
  const spy = jest.spyOn(log, 'error');
  return { log, errors: () => spy.mock.calls as unknown as [Record<string, unknown>, string][] };
}

function configFor(database: TestDatabase, overrides: Partial<Config> = {}): Config {
  return {
    NATS_URL: server.url,
    DATABASE_URL: database.url,
    LOG_LEVEL: 'silent',
    HEALTH_PORT: undefined,
    SHUTDOWN_TIMEOUT_MS: 5_000,
    HEARTBEAT_INTERVAL_MS: 100,
    HEARTBEAT_TIMEOUT_MS: 400,
    DEAD_WORKER_RETENTION_HOURS: 1,
    RECONCILE_GRACE_MS: undefined,
    ASSIGNMENT_START_DEADLINE_MS: 30_000,
    MAX_DELIVER: 5,
    ...overrides,
  };
}

/** A running service on a fresh database, with a pool for the assertions. */
async function setUp(log: Logger, before?: (db: Kysely<Database>) => Promise<void>) {
  const database = await createTestDatabase();
  const db = createDb(database.url);
  await before?.(db);
  const service = await start(configFor(database), { log });
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

function heartbeat(workerId: string): HeartbeatV1 {
  return {
    ...envelope(),
    workerId,
    status: 'ACTIVE',
    capacity: { slots: 4, cpu: 2, memoryMb: 2048, gpu: 0 },
    labels: {},
    types: ['sleep'],
    running: [],
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    intervalMs: 100,
  };
}

/** A `workers` row as stored, whatever its id; `silentMs` ago it was last heard from. */
function workerRow(
  id: string,
  opts: { status?: string; silentMs?: number; deadHoursAgo?: number; running?: string } = {},
) {
  const silentMs = opts.silentMs ?? 60_000;
  return {
    id,
    status: opts.status ?? 'ACTIVE',
    capacity: JSON.stringify({ slots: 4, cpu: 2, memoryMb: 2048, gpu: 0 }),
    free_slots: 4,
    labels: '{}',
    types: '["sleep"]',
    running: opts.running ?? '[]',
    heartbeat_interval_ms: 100,
    last_heartbeat_at: sql<Date>`now() - ${silentMs}::float8 * interval '1 millisecond'`,
    heard_at: sql<Date>`now() - ${silentMs}::float8 * interval '1 millisecond'`,
    started_at: sql<Date>`now() - interval '1 day'`,
    dead_at:
      opts.deadHoursAgo === undefined
        ? null
        : sql<Date>`now() - ${opts.deadHoursAgo}::float8 * interval '1 hour'`,
    updated_at: sql<Date>`now()`,
  };
}

const statusOf = async (db: Kysely<Database>, id: string) =>
  (await db.selectFrom('workers').select('status').where('id', '=', id).executeTakeFirst())?.status;

/** The last `workerDead` message announced for a worker, or undefined. */
async function lastDeath(workerId: string): Promise<WorkerDeadV1 | undefined> {
  const m = await nats.jsm.streams.getMessage(STREAMS.workerDead.name, {
    last_by_subj: SUBJECTS.workerDead(workerId),
  });
  if (m === null) return undefined;
  const d = decode('workerDead', m.data);
  if (!d.ok) throw new Error(d.reason);
  return d.value;
}

/** Waits until every ordinary worker is DEAD and announced on niyanta.worker.dead.<id>. */
async function expectDeclaredDead(db: Kysely<Database>, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    await waitFor(async () => (await statusOf(db, id)) === 'DEAD', {
      timeoutMs: 5_000,
      message: `ordinary worker ${id} to be declared DEAD`,
    });
    const announced = await waitFor(() => lastDeath(id), {
      timeoutMs: 5_000,
      message: `the death of ${id} to be announced`,
    });
    expect(announced.workerId).toBe(id);
  }
}

const loggedFor = (errors: [Record<string, unknown>, string][], workerId: string) =>
  errors.filter(([fields]) => fields['workerId'] === workerId);

describe('dead-worker sweep', () => {
  it('issue 18: a heartbeat with workerId "niyanta.assign.x" does not stop silent workers from being declared dead', async () => {
    const { log, errors } = recordingLogger();
    await using t = await setUp(log);
    const ordinary = [newWorkerId(), newWorkerId(), newWorkerId(), newWorkerId()];
    // The message: a heartbeat body on niyanta.heartbeat.x, then silence. Sent as raw
    // bytes, as an attacker would: the client-side schema check would refuse to encode it.
    await nats.js.publish(SUBJECTS.heartbeat('x'), JSON.stringify(heartbeat(BAD_ID)));
    for (const id of ordinary) {
      await publishOne(nats.js, {
        kind: 'heartbeat',
        subject: SUBJECTS.heartbeat(id),
        message: heartbeat(id),
      });
    }
    await expectDeclaredDead(t.db, ordinary);
    // Heartbeats are handled in order: the bad one was handled before the ordinary ones were
    // registered. Where it was stored (entry checks refuse it), it is DEAD and its error logged.
    if ((await statusOf(t.db, BAD_ID)) !== undefined) {
      await waitFor(async () => (await statusOf(t.db, BAD_ID)) === 'DEAD', {
        message: 'the worker with the bad id to be marked DEAD',
      });
      const logged = loggedFor(errors(), BAD_ID);
      expect(logged).toHaveLength(1);
      expect(logged[0]![0]['err']).toMatchObject({ name: 'InvalidSubjectTokenError' });
    }
    expect(await lastDeath('x')).toBeUndefined();
  });

  it('marks a stored worker whose id is not a subject token DEAD unannounced, and declares the others dead', async () => {
    const { log, errors } = recordingLogger();
    const ordinary = [newWorkerId(), newWorkerId(), newWorkerId()];
    const bad = [BAD_ID, 'has space', 'tab\there', 'star*', `${newWorkerId()}.dotted`];
    await using t = await setUp(log, async (db) => {
      // Rows stored before ids were checked at entry.
      await db
        .insertInto('workers')
        .values([...bad, ...ordinary].map((id) => workerRow(id)))
        .execute();
    });
    await expectDeclaredDead(t.db, ordinary);
    for (const id of bad) {
      await waitFor(async () => (await statusOf(t.db, id)) === 'DEAD', {
        message: `stored worker ${JSON.stringify(id)} to be marked DEAD`,
      });
      const logged = loggedFor(errors(), id);
      expect(logged).toHaveLength(1);
      expect(logged[0]![0]['err']).toMatchObject({ name: 'InvalidSubjectTokenError' });
      expect(logged[0]![1]).toMatch(/cannot be announced dead/);
    }
  });

  it('deletes long-dead workers while a stored worker id cannot be announced', async () => {
    const { log } = recordingLogger();
    const longDead = newWorkerId();
    const recentlyDead = newWorkerId();
    await using t = await setUp(log, async (db) => {
      await db
        .insertInto('workers')
        .values([
          workerRow(BAD_ID),
          workerRow(longDead, { status: 'DEAD', deadHoursAgo: 2 }),
          workerRow(recentlyDead, { status: 'DEAD', deadHoursAgo: 0.5 }),
        ])
        .execute();
    });
    await waitFor(async () => (await statusOf(t.db, longDead)) === undefined, {
      timeoutMs: 5_000,
      message: 'the long-dead worker to be deleted',
    });
    expect(await statusOf(t.db, recentlyDead)).toBe('DEAD');
    expect(await statusOf(t.db, BAD_ID)).toBe('DEAD');
  });
});

describe('reconciliation round', () => {
  /** A COMPLETED workload: any worker that lists a run of it should be told to stop. */
  async function finishedWorkload(db: Kysely<Database>, workerId: string): Promise<string> {
    const id = uuidv7();
    await db
      .insertInto('workloads')
      .values({
        id,
        tenant: 'default',
        type: 'sleep',
        status: 'COMPLETED',
        priority: 500,
        attempt: 1,
        max_attempts: 3,
        input: '{}',
        worker_id: workerId,
      } as never)
      .execute();
    return id;
  }

  it('tells the other workers to stop stale runs when a stored worker id cannot be a subject or its runs are malformed', async () => {
    const { log, errors } = recordingLogger();
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 2 });
    try {
      const good = newWorkerId();
      const badRun = await finishedWorkload(db, BAD_ID);
      const goodRun = await finishedWorkload(db, good);
      const runs = (id: string) => JSON.stringify([{ workloadId: id, attempt: 1 }]);
      await db
        .insertInto('workers')
        .values([
          workerRow(BAD_ID, { silentMs: 0, running: runs(badRun) }),
          workerRow(good, { silentMs: 0, running: runs(goodRun) }),
          // Not a list of runs at all, and a list with entries that are not runs.
          workerRow(newWorkerId(), { silentMs: 0, running: '{"workloadId":"x"}' }),
          workerRow(newWorkerId(), { silentMs: 0, running: '[null, 7, {"attempt":"1"}]' }),
        ])
        .execute();

      const published = await reconcileOnce({
        db,
        js: nats.js,
        jsm: nats.jsm,
        reconciler: new Reconciler({ graceMs: 1_000, startDeadlineMs: 1_000, repeatMs: 60_000 }),
        log,
      });

      expect(published.stale).toEqual([
        expect.objectContaining({ workerId: good, workloadId: goodRun, attempt: 1 }),
      ]);
      const m = await nats.jsm.streams.getMessage(STREAMS.control.name, {
        last_by_subj: SUBJECTS.control(good),
      });
      const control = decode('control', m!.data);
      expect(control.ok && control.value).toMatchObject({
        workerId: good,
        action: 'stop',
        workloadId: goodRun,
      } satisfies Partial<ControlV1>);
      const logged = loggedFor(errors(), BAD_ID);
      expect(logged).toHaveLength(1);
      expect(logged[0]![0]).toMatchObject({
        workloadId: badRun,
        err: expect.objectContaining({ name: 'InvalidSubjectTokenError' }),
      });
    } finally {
      await db.destroy();
    }
  });
});
