import { randomUUID } from 'node:crypto';
import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { decode, envelope, publishOne, STREAMS, SUBJECTS, uuidv7 } from '@niyanta/messages';
import type { ControlV1, HeartbeatV1, WorkerDeadV1 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import type { Nats } from '@niyanta/runtime';
import { createTestDatabase, startNatsServer, waitFor } from '@niyanta/testing';
import type { NatsServerHandle } from '@niyanta/testing';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { start } from '../src/index.js';

jest.setTimeout(30_000);

const log = createLogger('reconcile-test', 'silent');

let server: NatsServerHandle;
let nats: Nats;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'reconcile-test', log });
});

afterAll(async () => {
  await nats?.close();
  await server?.[Symbol.asyncDispose]();
});

/** A workloads row as the scheduler would have it, whose last status change was `agoMs` ago. */
async function insertWorkload(
  db: Kysely<Database>,
  w: { status: string; attempt: number; workerId: string | null; agoMs: number },
): Promise<string> {
  const id = uuidv7();
  await db
    .insertInto('workloads')
    .values({
      id,
      tenant: 'default',
      type: 'sleep',
      status: w.status,
      priority: 500,
      attempt: w.attempt,
      max_attempts: 3,
      input: JSON.stringify({}),
      worker_id: w.workerId,
    } as never)
    .execute();
  await db
    .insertInto('workload_events')
    .values({
      workload_id: id,
      from_status: 'SCHEDULED',
      to_status: w.status,
      attempt: w.attempt,
      reason: 'test',
      worker_id: w.workerId,
      at: sql<Date>`now() - ${w.agoMs}::float8 * interval '1 millisecond'`,
    } as never)
    .execute();
  return id;
}

/** The last message on a subject of a stream, decoded, or undefined. */
async function lastOn<K extends 'control' | 'workerDead'>(
  kind: K,
  stream: string,
  subject: string,
): Promise<(K extends 'control' ? ControlV1 : WorkerDeadV1) | undefined> {
  const m = await nats.jsm.streams.getMessage(stream, { last_by_subj: subject });
  if (m === null) return undefined;
  const d = decode(kind, m.data);
  if (!d.ok) throw new Error(d.reason);
  return d.value as K extends 'control' ? ControlV1 : WorkerDeadV1;
}

async function countOn(stream: string, subject: string): Promise<number> {
  const info = await nats.jsm.streams.info(stream, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

describe('reconciliation', () => {
  it('reports a run missing from its worker as lost, unless its completion (alone or in a batch of its worker) waits, and stops stale runs', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 2 });
    const service = await start(
      {
        NATS_URL: server.url,
        DATABASE_URL: database.url,
        LOG_LEVEL: 'silent',
        HEALTH_PORT: undefined,
        SHUTDOWN_TIMEOUT_MS: 5_000,
        MAX_DELIVER: 5,
        HEARTBEAT_INTERVAL_MS: 100,
        HEARTBEAT_TIMEOUT_MS: 60_000,
        DEAD_WORKER_RETENTION_HOURS: 24,
        RECONCILE_GRACE_MS: 200,
        ASSIGNMENT_START_DEADLINE_MS: 60_000,
      },
      { log },
    );
    const workerId = `w-${randomUUID().slice(0, 8)}`;
    // A second worker whose completions travel in batches on niyanta.completions.<workerId>.
    const batchingId = `w-${randomUUID().slice(0, 8)}`;
    const running: HeartbeatV1['running'] = [];
    const beat = (id: string, list: HeartbeatV1['running']) =>
      publishOne(nats.js, {
        kind: 'heartbeat',
        subject: SUBJECTS.heartbeat(id),
        message: {
          ...envelope(),
          workerId: id,
          status: 'ACTIVE',
          capacity: { slots: 4, cpu: 2, memoryMb: 2048, gpu: 0 },
          labels: {},
          types: ['sleep'],
          running: [...list],
          startedAt: new Date(Date.now() - 60_000).toISOString(),
          intervalMs: 100,
        },
      });
    const timer = setInterval(() => {
      void beat(workerId, running).catch(() => undefined);
      void beat(batchingId, []).catch(() => undefined);
    }, 100);
    try {
      // Lost: RUNNING here for 10 s by the scheduler's table, never in the heartbeats.
      const lost = await insertWorkload(db, {
        status: 'RUNNING',
        attempt: 1,
        workerId,
        agoMs: 10_000,
      });
      // Ended: also missing, but its completion waits in the broker for the scheduler.
      const ended = await insertWorkload(db, {
        status: 'RUNNING',
        attempt: 1,
        workerId,
        agoMs: 10_000,
      });
      await publishOne(nats.js, {
        kind: 'completion',
        subject: SUBJECTS.complete(ended),
        message: { ...envelope(), workloadId: ended, attempt: 1, workerId, outcome: 'succeeded' },
      });
      // Ended on the batching worker: its completion waits in a batch the scheduler has not taken.
      const batched = await insertWorkload(db, {
        status: 'RUNNING',
        attempt: 1,
        workerId: batchingId,
        agoMs: 10_000,
      });
      const batch = await publishOne(nats.js, {
        kind: 'completionBatch',
        subject: SUBJECTS.completions(batchingId),
        message: {
          ...envelope(),
          workerId: batchingId,
          completions: [{ workloadId: batched, attempt: 1, outcome: 'succeeded' }],
        },
      });
      // Listed and current: left alone.
      const fine = await insertWorkload(db, {
        status: 'RUNNING',
        attempt: 1,
        workerId,
        agoMs: 10_000,
      });
      // Listed by the worker, but the workload moved on to attempt 2 on another worker.
      const stale = await insertWorkload(db, {
        status: 'RUNNING',
        attempt: 2,
        workerId: 'w-other',
        agoMs: 100,
      });
      running.push({ workloadId: fine, attempt: 1 }, { workloadId: stale, attempt: 1 });

      const report = await waitFor(
        () => lastOn('workerDead', STREAMS.workerDead.name, SUBJECTS.workerDead(workerId)),
        { timeoutMs: 10_000, message: 'a lost-attempt report' },
      );
      expect(report).toMatchObject({
        workerId,
        attempts: [{ workloadId: lost, attempt: 1 }],
        reason: `missing from the heartbeats of worker ${workerId} for more than 200 ms after it started`,
      });
      const stop = await waitFor(
        () => lastOn('control', STREAMS.control.name, SUBJECTS.control(workerId)),
        { timeoutMs: 10_000, message: 'a stop for the stale run' },
      );
      expect(stop).toMatchObject({
        workerId,
        action: 'stop',
        workloadId: stale,
        attempt: 1,
        reason: 'attempt 1 is stale: the workload is on attempt 2',
      });

      // Barrier: a stale run listed from now on is found by a LATER round than the report above.
      const later = await insertWorkload(db, {
        status: 'COMPLETED',
        attempt: 1,
        workerId,
        agoMs: 0,
      });
      running.push({ workloadId: later, attempt: 1 });
      await waitFor(
        async () =>
          (await lastOn('control', STREAMS.control.name, SUBJECTS.control(workerId)))
            ?.workloadId === later,
        { timeoutMs: 10_000, message: 'a stop for the run of a completed workload' },
      );
      // Only the lost run was reported (once); the ended one and the listed one never were.
      expect(await countOn(STREAMS.workerDead.name, SUBJECTS.workerDead(workerId))).toBe(1);
      expect(await countOn(STREAMS.control.name, SUBJECTS.control(workerId))).toBe(2);
      expect(await countOn(STREAMS.workerDead.name, SUBJECTS.workerDead(batchingId))).toBe(0);

      // Once the scheduler has taken the batch (acked: gone from the work queue), an attempt
      // still RUNNING by the table is lost after all: the batch only delayed the report.
      await nats.jsm.streams.deleteMessage(STREAMS.complete.name, batch.seq);
      const late = await waitFor(
        () => lastOn('workerDead', STREAMS.workerDead.name, SUBJECTS.workerDead(batchingId)),
        { timeoutMs: 10_000, message: 'the report once the batch is gone' },
      );
      expect(late).toMatchObject({
        workerId: batchingId,
        attempts: [{ workloadId: batched, attempt: 1 }],
      });
    } finally {
      clearInterval(timer);
      await service[Symbol.asyncDispose]();
      await db.destroy();
    }
  });
});
