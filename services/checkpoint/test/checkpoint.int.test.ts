import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { checkpointBlobKey, checkpointBlobPrefix, createFsBlobStore } from '@niyanta/blob-store';
import type { BlobStore } from '@niyanta/blob-store';
import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { CONSUMERS, envelope, publishOne, SUBJECTS, uuidv7 } from '@niyanta/messages';
import type { CheckpointV1 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import type { Nats } from '@niyanta/runtime';
import { createTestDatabase, startNatsServer, waitFor } from '@niyanta/testing';
import type { NatsServerHandle, TestDatabase } from '@niyanta/testing';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { decodeState, start } from '../src/index.js';
import type { Config, StartOptions } from '../src/index.js';

// The int project's testTimeout in jest.config.js does not reach the tests (a global-only option).
jest.setTimeout(30_000);

const log = createLogger('checkpoint-test', process.env.TEST_LOG_LEVEL ?? 'silent');

let server: NatsServerHandle;
let nats: Nats;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'checkpoint-test', log });
});

afterAll(async () => {
  await nats?.close();
  await server?.[Symbol.asyncDispose]();
});

function configFor(database: TestDatabase, blobDir: string): Config {
  return {
    NATS_URL: server.url,
    DATABASE_URL: database.url,
    LOG_LEVEL: 'silent',
    HEALTH_PORT: undefined,
    SHUTDOWN_TIMEOUT_MS: 5_000,
    MAX_DELIVER: 5,
    CHECKPOINT_KEEP: 3,
    CHECKPOINT_INLINE_MAX_BYTES: 262_144,
    BLOB_STORE: 'fs',
    BLOB_DIR: blobDir,
    S3_ENDPOINT: undefined,
    S3_BUCKET: undefined,
    S3_REGION: undefined,
    CHECKPOINT_TTL_AFTER_END_HOURS: 168,
    WORKLOAD_RETENTION_DAYS: 30,
  };
}

async function setUp(opts: StartOptions = {}, settings: Partial<Config> = {}) {
  const database = await createTestDatabase();
  const blobDir = await mkdtemp(join(tmpdir(), 'checkpoint-blobs-'));
  const service = await start({ ...configFor(database, blobDir), ...settings }, { log, ...opts });
  const db = createDb(database.url);
  // The same directory the service uses: what a worker uploads, the service reads.
  const blobs = createFsBlobStore({ dir: blobDir });
  return {
    db,
    blobs,
    async [Symbol.asyncDispose]() {
      await service[Symbol.asyncDispose]();
      await db.destroy();
      await database[Symbol.asyncDispose]();
      await rm(blobDir, { recursive: true, force: true });
    },
  };
}

/** Inserts a workload row as the scheduler would have it. */
async function insertWorkload(
  db: Kysely<Database>,
  fields: { status: string; attempt: number; finishedHoursAgo?: number },
): Promise<string> {
  const id = uuidv7();
  await db
    .insertInto('workloads')
    .values({
      id,
      tenant: 'default',
      type: 'sleep',
      status: fields.status,
      priority: 0,
      attempt: fields.attempt,
      max_attempts: 3,
      input: '{}',
      labels: '{}',
      requirements: '{}',
      finished_at:
        fields.finishedHoursAgo === undefined
          ? null
          : sql<Date>`now() - ${fields.finishedHoursAgo}::float8 * interval '1 hour'`,
    })
    .execute();
  return id;
}

async function publishCheckpoint(
  workloadId: string,
  attempt: number,
  seq: number,
  body: Partial<CheckpointV1> = { data: { seq } },
) {
  const message: CheckpointV1 = { ...envelope(), workloadId, attempt, seq, ...body };
  await publishOne(nats.js, {
    kind: 'checkpoint',
    subject: SUBJECTS.checkpoint(workloadId),
    message,
  });
}

/** Uploads a state as a worker would, under its checkpoint key. */
async function uploadState(
  blobs: BlobStore,
  workloadId: string,
  attempt: number,
  seq: number,
  state: unknown,
) {
  return blobs.put(
    checkpointBlobKey(workloadId, attempt, seq),
    Buffer.from(JSON.stringify(state), 'utf8'),
  );
}

const checkpointsOf = (db: Kysely<Database>, workloadId: string) =>
  db
    .selectFrom('checkpoints')
    .selectAll()
    .where('workload_id', '=', workloadId)
    .orderBy('seq')
    .execute();

/** Barrier: every message published so far was handled (acked or terminated). */
async function allHandled(): Promise<void> {
  await waitFor(
    async () => {
      const info = await nats.jsm.consumers.info(
        CONSUMERS.checkpointWriter.stream,
        CONSUMERS.checkpointWriter.durable_name,
      );
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    { message: 'the checkpoint consumer to handle every message' },
  );
}

describe('checkpoint service', () => {
  it('stores a checkpoint of the current attempt compressed, with its size and sha256', async () => {
    await using t = await setUp();
    const workloadId = await insertWorkload(t.db, { status: 'RUNNING', attempt: 2 });
    const state = {
      step: 7,
      items: Array.from({ length: 100 }, (_, i) => `item-${i}`),
      note: 'häßlich ✓',
    };
    await publishCheckpoint(workloadId, 2, 1, { data: state });

    const [row] = await waitFor(
      async () => {
        const rows = await checkpointsOf(t.db, workloadId);
        return rows.length > 0 ? rows : undefined;
      },
      { message: 'the checkpoint to be stored' },
    );
    const json = Buffer.from(JSON.stringify(state), 'utf8');
    expect(row).toMatchObject({
      seq: 1,
      attempt: 2,
      storage: 'inline',
      blob_key: null,
      size: json.length,
    });
    expect(row!.sha256).toBe(createHash('sha256').update(json).digest('hex'));
    expect(row!.data!.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(row!.data!.length).toBeLessThan(json.length);
    expect(JSON.parse(gunzipSync(row!.data!).toString('utf8'))).toEqual(state);
    expect(await decodeState(row!.data!)).toEqual(state);
  });

  it('discards a checkpoint of an earlier attempt', async () => {
    await using t = await setUp();
    const workloadId = await insertWorkload(t.db, { status: 'RUNNING', attempt: 2 });
    await publishCheckpoint(workloadId, 1, 5);
    await publishCheckpoint(workloadId, 2, 6);
    await allHandled();
    const rows = await checkpointsOf(t.db, workloadId);
    expect(rows.map((r) => [r.seq, r.attempt])).toEqual([[6, 2]]);
  });

  it('keeps only the newest three checkpoints of a workload', async () => {
    await using t = await setUp();
    const workloadId = await insertWorkload(t.db, { status: 'RUNNING', attempt: 2 });
    for (let seq = 1; seq <= 5; seq++) await publishCheckpoint(workloadId, 2, seq);
    await allHandled();
    const rows = await checkpointsOf(t.db, workloadId);
    expect(rows.map((r) => r.seq)).toEqual([3, 4, 5]);
    expect(await decodeState(rows[2]!.data!)).toEqual({ seq: 5 });
  });

  it('discards a checkpoint for a COMPLETED workload', async () => {
    await using t = await setUp();
    const workloadId = await insertWorkload(t.db, { status: 'COMPLETED', attempt: 2 });
    await publishCheckpoint(workloadId, 2, 1);
    await allHandled();
    expect(await checkpointsOf(t.db, workloadId)).toEqual([]);
  });

  it('stores a blob checkpoint once its object is there with the stated size and sha256', async () => {
    await using t = await setUp();
    const workloadId = await insertWorkload(t.db, { status: 'RUNNING', attempt: 2 });
    const ref = await uploadState(t.blobs, workloadId, 2, 1, { big: 'x'.repeat(300_000) });
    await publishCheckpoint(workloadId, 2, 1, { blob: ref });
    const rows = await waitFor(
      async () => {
        const r = await checkpointsOf(t.db, workloadId);
        return r.length > 0 ? r : undefined;
      },
      { message: 'the blob checkpoint to be stored' },
    );
    expect(rows).toEqual([
      expect.objectContaining({
        seq: 1,
        attempt: 2,
        storage: 'blob',
        blob_key: ref.key,
        data: null,
        size: ref.size,
        sha256: ref.sha256,
      }),
    ]);
  });

  it('terminates a blob checkpoint whose object is missing, differs, or lies outside its workload', async () => {
    await using t = await setUp();
    const workloadId = await insertWorkload(t.db, { status: 'RUNNING', attempt: 2 });
    const other = await insertWorkload(t.db, { status: 'RUNNING', attempt: 1 });
    const good = await uploadState(t.blobs, workloadId, 2, 1, { step: 1 });
    // Missing.
    await publishCheckpoint(workloadId, 2, 2, {
      blob: { ...good, key: checkpointBlobKey(workloadId, 2, 2) },
    });
    // Same size, other content.
    await publishCheckpoint(workloadId, 2, 3, {
      blob: { ...good, sha256: createHash('sha256').update('{"step":2}').digest('hex') },
    });
    // Other size.
    await publishCheckpoint(workloadId, 2, 4, { blob: { ...good, size: good.size + 1 } });
    // Another workload's object (retention would delete it with this row).
    await publishCheckpoint(other, 1, 1, { blob: good });
    // Under the prefix but a key no blob store accepts: it fails the same way on every delivery.
    await publishCheckpoint(workloadId, 2, 5, {
      blob: { ...good, key: `${checkpointBlobPrefix(workloadId)}../escape.json` },
    });
    await allHandled();
    expect(await checkpointsOf(t.db, workloadId)).toEqual([]);
    expect(await checkpointsOf(t.db, other)).toEqual([]);
  });

  it('deletes the objects of the blob checkpoints retention prunes', async () => {
    await using t = await setUp();
    const workloadId = await insertWorkload(t.db, { status: 'RUNNING', attempt: 1 });
    const refs = [];
    for (let seq = 1; seq <= 5; seq++) {
      const ref = await uploadState(t.blobs, workloadId, 1, seq, { seq });
      refs.push(ref);
      await publishCheckpoint(workloadId, 1, seq, { blob: ref });
    }
    await allHandled();
    const rows = await checkpointsOf(t.db, workloadId);
    expect(rows.map((r) => r.blob_key)).toEqual(refs.slice(2).map((r) => r.key));
    await waitFor(async () => (await t.blobs.list('checkpoints/')).length === 3, {
      message: 'the pruned checkpoints objects to be deleted',
    });
    expect(await t.blobs.list('checkpoints/')).toEqual(
      refs
        .slice(2)
        .map((r) => r.key)
        .sort(),
    );
  });

  it('deletes the objects of expired checkpoints and of blobs no row refers to', async () => {
    await using t = await setUp({
      ttlSweepIntervalMs: 50,
      orphanSweepIntervalMs: 50,
      orphanGraceMs: 0,
    });
    const old = await insertWorkload(t.db, {
      status: 'COMPLETED',
      attempt: 1,
      finishedHoursAgo: 200,
    });
    const running = await insertWorkload(t.db, { status: 'RUNNING', attempt: 1 });
    const expired = await uploadState(t.blobs, old, 1, 1, { old: true });
    const kept = await uploadState(t.blobs, running, 1, 1, { kept: true });
    const orphan = await uploadState(t.blobs, running, 1, 2, { orphan: true });
    const row = (workloadId: string, ref: { key: string; size: number; sha256: string }) => ({
      workload_id: workloadId,
      seq: 1,
      attempt: 1,
      size: ref.size,
      sha256: ref.sha256,
      storage: 'blob' as const,
      data: null,
      blob_key: ref.key,
    });
    await t.db
      .insertInto('checkpoints')
      .values([row(old, expired), row(running, kept)])
      .execute();

    await waitFor(
      async () => {
        const keys = await t.blobs.list('checkpoints/');
        return keys.length === 1 && keys[0] === kept.key;
      },
      { message: 'the expired and the orphaned objects to be deleted' },
    );
    expect(await checkpointsOf(t.db, old)).toEqual([]);
    expect(await checkpointsOf(t.db, running)).toHaveLength(1);
    expect(await t.blobs.head(orphan.key)).toBeUndefined();
  });

  it('terminates an invalid checkpoint message', async () => {
    await using t = await setUp();
    const workloadId = await insertWorkload(t.db, { status: 'RUNNING', attempt: 2 });
    await nats.js.publish(
      SUBJECTS.checkpoint(workloadId),
      new TextEncoder().encode(JSON.stringify({ workloadId, attempt: 'two' })),
    );
    await publishCheckpoint(workloadId, 2, 1, {});
    await allHandled();
    expect(await checkpointsOf(t.db, workloadId)).toEqual([]);
  });

  it('stores a checkpoint that arrived before its attempt was committed once it is', async () => {
    await using t = await setUp();
    const workloadId = await insertWorkload(t.db, { status: 'SCHEDULED', attempt: 2 });
    await publishCheckpoint(workloadId, 3, 1);
    // It is refused and comes back at least once while the row is still on attempt 2...
    await waitFor(
      async () =>
        (
          await nats.jsm.consumers.info(
            CONSUMERS.checkpointWriter.stream,
            CONSUMERS.checkpointWriter.durable_name,
          )
        ).num_redelivered > 0,
      { message: 'the early checkpoint to be redelivered' },
    );
    expect(await checkpointsOf(t.db, workloadId)).toEqual([]);
    // ...until the scheduler's placement transaction commits attempt 3.
    await t.db.updateTable('workloads').set({ attempt: 3 }).where('id', '=', workloadId).execute();
    const rows = await waitFor(
      async () => {
        const r = await checkpointsOf(t.db, workloadId);
        return r.length > 0 ? r : undefined;
      },
      { message: 'the early checkpoint to be stored' },
    );
    expect(rows.map((r) => [r.seq, r.attempt])).toEqual([[1, 3]]);
  });

  it('judges the fence on the locked workload row, so a placement committing meanwhile wins', async () => {
    await using t = await setUp();
    const workloadId = await insertWorkload(t.db, { status: 'RUNNING', attempt: 2 });
    // The scheduler re-places the workload on attempt 3; its transaction has not committed when
    // the checkpoint service, having read attempt 2, is about to insert attempt 2's checkpoint.
    const placement = await t.db.startTransaction().execute();
    try {
      await placement
        .updateTable('workloads')
        .set({ status: 'SCHEDULED', attempt: 3, worker_id: 'w-new' })
        .where('id', '=', workloadId)
        .execute();
      await publishCheckpoint(workloadId, 2, 1);
      // Either the service waits for the placement's row lock (the fence is judged inside its
      // insert transaction), or it stored the checkpoint without waiting (the bug).
      await waitFor(
        async () => {
          const { rows } = await sql<{ n: number }>`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`.execute(t.db);
          return rows[0]!.n > 0 || (await checkpointsOf(t.db, workloadId)).length > 0;
        },
        { message: 'the checkpoint service to wait for the placement or store the checkpoint' },
      );
      await placement.commit().execute();
    } catch (err) {
      await placement.rollback().execute();
      throw err;
    }
    await allHandled();
    expect(await checkpointsOf(t.db, workloadId)).toEqual([]);
  });

  it.each(['PAUSED', 'PENDING'])(
    'stores the stop checkpoint of an attempt the scheduler already moved to %s',
    async (status) => {
      await using t = await setUp();
      const workloadId = await insertWorkload(t.db, { status, attempt: 2 });
      await publishCheckpoint(workloadId, 2, 4, { workerId: 'w-a', data: { step: 4 } });
      await allHandled();
      const rows = await checkpointsOf(t.db, workloadId);
      expect(rows.map((r) => [r.attempt, r.seq])).toEqual([[2, 4]]);
      expect(await decodeState(rows[0]!.data!)).toEqual({ step: 4 });
    },
  );

  it('terminates only the checkpoint the database refuses, storing the rest of its batch', async () => {
    await using t = await setUp();
    const workloadId = await insertWorkload(t.db, { status: 'RUNNING', attempt: 2 });
    // Stands in for any data error the message schema does not catch (SQLSTATE 23514).
    await sql`alter table checkpoints add constraint poison_seq check (seq <> 13)`.execute(t.db);
    await Promise.all([12, 13, 14].map((seq) => publishCheckpoint(workloadId, 2, seq)));
    await allHandled();
    const rows = await checkpointsOf(t.db, workloadId);
    expect(rows.map((r) => r.seq)).toEqual([12, 14]);
  });

  it('expires checkpoints and their objects at WORKLOAD_RETENTION_DAYS when shorter than the TTL, in batches', async () => {
    await using t = await setUp(
      { ttlSweepIntervalMs: 50, ttlBatch: 2 },
      { CHECKPOINT_TTL_AFTER_END_HOURS: 24 * 365, WORKLOAD_RETENTION_DAYS: 2 },
    );
    const old = await insertWorkload(t.db, {
      status: 'COMPLETED',
      attempt: 1,
      finishedHoursAgo: 49,
    });
    const recent = await insertWorkload(t.db, {
      status: 'FAILED',
      attempt: 1,
      finishedHoursAgo: 47,
    });
    const running = await insertWorkload(t.db, { status: 'RUNNING', attempt: 1 });
    const blobKeys: string[] = [];
    const rows = [];
    for (const workloadId of [old, recent, running]) {
      for (let seq = 1; seq <= 3; seq++) {
        const key = checkpointBlobKey(workloadId, 1, seq);
        await t.blobs.put(key, Buffer.from(`state ${seq}`));
        if (workloadId === old) blobKeys.push(key);
        rows.push({
          workload_id: workloadId,
          seq,
          attempt: 1,
          size: 7,
          sha256: 'a'.repeat(64),
          storage: 'blob' as const,
          data: null,
          blob_key: key,
        });
      }
    }
    await t.db.insertInto('checkpoints').values(rows).execute();

    await waitFor(async () => (await checkpointsOf(t.db, old)).length === 0, {
      message: 'the checkpoints past retention to expire, two rows a batch',
    });
    await waitFor(
      async () => {
        const left = await t.blobs.list(checkpointBlobPrefix(old));
        return left.length === 0;
      },
      { message: 'their objects to be deleted' },
    );
    expect(await checkpointsOf(t.db, recent)).toHaveLength(3);
    expect(await checkpointsOf(t.db, running)).toHaveLength(3);
    expect(await t.blobs.list(checkpointBlobPrefix(recent))).toHaveLength(3);
  });

  it('expires the checkpoints of workloads finished longer ago than the TTL', async () => {
    await using t = await setUp({ ttlSweepIntervalMs: 50 });
    const old = await insertWorkload(t.db, {
      status: 'COMPLETED',
      attempt: 1,
      finishedHoursAgo: 200,
    });
    const recent = await insertWorkload(t.db, {
      status: 'FAILED',
      attempt: 1,
      finishedHoursAgo: 1,
    });
    const row = (workloadId: string) => ({
      workload_id: workloadId,
      seq: 1,
      attempt: 1,
      size: 2,
      sha256: 'a'.repeat(64),
      storage: 'inline' as const,
      data: Buffer.from('x'),
      blob_key: null,
    });
    await t.db
      .insertInto('checkpoints')
      .values([row(old), row(recent)])
      .execute();

    await waitFor(async () => (await checkpointsOf(t.db, old)).length === 0, {
      message: 'the old checkpoints to expire',
    });
    expect(await checkpointsOf(t.db, recent)).toHaveLength(1);
  });
});
