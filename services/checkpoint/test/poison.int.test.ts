import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { CONSUMERS, SUBJECTS, decode, envelope, uuidv7 } from '@niyanta/messages';
import type { DeadLetterV1 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import type { Nats } from '@niyanta/runtime';
import { createTestDatabase, deadLetterRow, startNatsServer, waitFor } from '@niyanta/testing';
import type { NatsServerHandle, TestDatabase } from '@niyanta/testing';
import type { Kysely } from 'kysely';
import { start } from '../src/index.js';

// Issue 18: a bad checkpoint never holds checkpoint-writer. Each poison is published with
// ordinary checkpoints: those are stored, the poison is a dead letter, nothing stays unacked.

jest.setTimeout(60_000);

const log = createLogger('checkpoint-poison-test', 'silent');
let server: NatsServerHandle;
let nats: Nats;
let database: TestDatabase;
let db: Kysely<Database>;
let blobDir: string;
let service: AsyncDisposable;
const announced: DeadLetterV1[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'checkpoint-poison-test', log });
  database = await createTestDatabase();
  db = createDb(database.url, { max: 2 });
  blobDir = await mkdtemp(join(tmpdir(), 'checkpoint-poison-'));
  service = await start(
    {
      NATS_URL: server.url,
      DATABASE_URL: database.url,
      LOG_LEVEL: 'silent',
      HEALTH_PORT: undefined,
      SHUTDOWN_TIMEOUT_MS: 5_000,
      MAX_DELIVER: 2,
      CHECKPOINT_KEEP: 3,
      CHECKPOINT_INLINE_MAX_BYTES: 262_144,
      BLOB_STORE: 'fs',
      BLOB_DIR: blobDir,
      S3_ENDPOINT: undefined,
      S3_BUCKET: undefined,
      S3_REGION: undefined,
      CHECKPOINT_TTL_AFTER_END_HOURS: 168,
      WORKLOAD_RETENTION_DAYS: 30,
    },
    { log },
  );
  nats.nc.subscribe(SUBJECTS.deadAll, {
    callback: (_err, m) => {
      const d = decode('deadLetter', m.data);
      if (d.ok) announced.push(d.value);
    },
  });
  await nats.nc.flush();
});

afterAll(async () => {
  await service?.[Symbol.asyncDispose]();
  await db?.destroy();
  await database?.[Symbol.asyncDispose]();
  await rm(blobDir, { recursive: true, force: true });
  await nats?.close();
  await server?.[Symbol.asyncDispose]();
});

/** A RUNNING workload at attempt 1, as the scheduler would have it. */
async function runningWorkload(): Promise<string> {
  const id = uuidv7();
  await db
    .insertInto('workloads')
    .values({
      id,
      tenant: 'default',
      type: 'sleep',
      status: 'RUNNING',
      priority: 0,
      attempt: 1,
      max_attempts: 3,
      input: '{}',
      labels: '{}',
      requirements: '{}',
    })
    .execute();
  return id;
}

const checkpoint = (workloadId: string, over: Record<string, unknown> = {}) => ({
  ...envelope(),
  workloadId,
  attempt: 1,
  seq: 1,
  data: { step: 1 },
  ...over,
});
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));
const deep = (id: string, levels: number) =>
  Buffer.from(
    JSON.stringify(checkpoint(id, { data: 'DEEP' })).replace(
      '"DEEP"',
      '['.repeat(levels) + ']'.repeat(levels),
    ),
  );
const blob = { key: 'k', size: 2 ** 53 - 1, sha256: '0'.repeat(64) };

describe('checkpoint-writer', () => {
  it.each([
    [
      'a state nested 10,000 deep',
      (id: string) => deep(id, 10_000),
      /\/data(\/0)+ is nested deeper than 64 levels/,
    ],
    [
      'a U+0000 state',
      (id: string) => bytes(checkpoint(id, { data: { s: '\u0000' } })),
      /\/data\/s must not contain/,
    ],
    [
      'a worker id with .',
      (id: string) => bytes(checkpoint(id, { workerId: 'niyanta.assign.x' })),
      /\/workerId must match pattern/,
    ],
    [
      'an attempt of 2^53-1',
      (id: string) => bytes(checkpoint(id, { attempt: 2 ** 53 - 1 })),
      /\/attempt must be <= 2147483647/,
    ],
    [
      'a blob size of 2^53-1',
      (id: string) => bytes(checkpoint(id, { data: undefined, blob })),
      /\/blob\/size must be <= 2147483647/,
    ],
    [
      'both data and blob',
      (id: string) => bytes(checkpoint(id, { blob: { ...blob, size: 1 } })),
      /^checkpoint carries both data and blob$/,
    ],
    ['a NUL byte instead of JSON', () => new Uint8Array([0]), /^payload is not JSON/],
  ])(
    'stores the checkpoints published with one carrying %s, which is a dead letter',
    async (_name, poison, error) => {
      const target = await runningWorkload();
      const ordinary = await Promise.all([runningWorkload(), runningWorkload()]);
      const data = poison(target);
      const publish = (subject: string, body: Uint8Array) => {
        const h = natsHeaders();
        h.set('Nats-Msg-Id', randomUUID());
        return nats.js.publish(subject, body, { headers: h });
      };
      const [ack] = await Promise.all([
        publish(SUBJECTS.checkpoint(target), data),
        ...ordinary.map((id) => publish(SUBJECTS.checkpoint(id), bytes(checkpoint(id)))),
      ]);
      for (const id of ordinary) {
        await waitFor(
          () =>
            db
              .selectFrom('checkpoints')
              .select('seq')
              .where('workload_id', '=', id)
              .executeTakeFirst(),
          { message: `the checkpoint of ${id} stored` },
        );
      }
      const { stream, durable_name } = CONSUMERS.checkpointWriter;
      const row = await deadLetterRow(db, durable_name, ack!.seq);
      expect(row).toMatchObject({ stream, deliveries: 1 });
      expect(row.error).toMatch(error);
      expect(Buffer.from(row.data).equals(Buffer.from(data))).toBe(true);
      await waitFor(
        () => announced.some((a) => a.consumer === durable_name && a.streamSeq === ack!.seq),
        {
          message: 'the announcement',
        },
      );
      await waitFor(
        async () => {
          const info = await nats.jsm.consumers.info(stream, durable_name);
          return info.num_pending === 0 && info.num_ack_pending === 0;
        },
        { message: 'nothing pending or unacked' },
      );
      expect(
        await db
          .selectFrom('checkpoints')
          .select('seq')
          .where('workload_id', '=', target)
          .execute(),
      ).toEqual([]);
    },
  );
});
