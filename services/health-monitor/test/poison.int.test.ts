import { randomUUID } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { CONSUMERS, SUBJECTS, decode, envelope } from '@niyanta/messages';
import type { DeadLetterV1 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import type { Nats } from '@niyanta/runtime';
import { createTestDatabase, deadLetterRow, startNatsServer, waitFor } from '@niyanta/testing';
import type { NatsServerHandle, TestDatabase } from '@niyanta/testing';
import type { Kysely } from 'kysely';
import { start } from '../src/index.js';

// Issue 18: a bad heartbeat never holds health-monitor-heartbeats. Each poison is published with
// ordinary heartbeats: those workers register, the poison is a dead letter, nothing stays unacked.

jest.setTimeout(60_000);

const log = createLogger('health-monitor-poison-test', 'silent');
let server: NatsServerHandle;
let nats: Nats;
let database: TestDatabase;
let db: Kysely<Database>;
let service: AsyncDisposable;
const announced: DeadLetterV1[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'health-monitor-poison-test', log });
  database = await createTestDatabase();
  db = createDb(database.url, { max: 2 });
  service = await start(
    {
      NATS_URL: server.url,
      DATABASE_URL: database.url,
      LOG_LEVEL: 'silent',
      HEALTH_PORT: undefined,
      SHUTDOWN_TIMEOUT_MS: 5_000,
      MAX_DELIVER: 2,
      HEARTBEAT_INTERVAL_MS: 1_000,
      HEARTBEAT_TIMEOUT_MS: 60_000,
      DEAD_WORKER_RETENTION_HOURS: 24,
      RECONCILE_GRACE_MS: undefined,
      ASSIGNMENT_START_DEADLINE_MS: 30_000,
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
  await nats?.close();
  await server?.[Symbol.asyncDispose]();
});

const heartbeat = (workerId: string, over: Record<string, unknown> = {}) => ({
  ...envelope(),
  workerId,
  status: 'ACTIVE',
  capacity: { slots: 4, cpu: 2, memoryMb: 2048, gpu: 0 },
  labels: {},
  types: ['sleep'],
  running: [],
  startedAt: new Date().toISOString(),
  intervalMs: 1_000,
  ...over,
});
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('health-monitor-heartbeats', () => {
  it.each([
    ['a worker id with .', bytes(heartbeat('niyanta.assign.x')), /\/workerId must match pattern/],
    ['a worker id with a space', bytes(heartbeat('w x')), /\/workerId must match pattern/],
    ['a 1 MB worker id', bytes(heartbeat('w'.repeat(1_000_000))), /\/workerId must match pattern/],
    [
      'a type with U+0000',
      bytes(heartbeat('w-poison', { types: ['sleep\u0000'] })),
      /\/types\/0 must not contain/,
    ],
    [
      'a label with a lone surrogate',
      bytes(heartbeat('w-poison', { labels: { a: '\udc00' } })),
      /\/labels\/a must not contain a lone/,
    ],
    [
      'slots of 2^53-1',
      bytes(
        heartbeat('w-poison', { capacity: { slots: 2 ** 53 - 1, cpu: 1, memoryMb: 1, gpu: 0 } }),
      ),
      /\/capacity\/slots must be <= 2147483647/,
    ],
    [
      'a far-future time',
      bytes(heartbeat('w-poison', { time: '2999-12-31T23:59:59Z' })),
      /\/time is more than 24 hours ahead/,
    ],
    ['a NUL byte instead of JSON', new Uint8Array([0]), /^payload is not JSON/],
  ])(
    'registers the workers beating next to a heartbeat with %s, which is a dead letter',
    async (_name, data, error) => {
      const ordinary = Array.from({ length: 3 }, () => `w-${randomUUID().slice(0, 8)}`);
      const publish = (subject: string, body: Uint8Array) => {
        const h = natsHeaders();
        h.set('Nats-Msg-Id', randomUUID());
        return nats.js.publish(subject, body, { headers: h });
      };
      const [ack] = await Promise.all([
        publish(SUBJECTS.heartbeat('x'), data),
        ...ordinary.map((id) => publish(SUBJECTS.heartbeat(id), bytes(heartbeat(id)))),
      ]);
      for (const id of ordinary) {
        await waitFor(
          () => db.selectFrom('workers').select('id').where('id', '=', id).executeTakeFirst(),
          {
            message: `worker ${id} registered`,
          },
        );
      }
      const { stream, durable_name } = CONSUMERS.healthMonitorHeartbeats;
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
        async () => (await nats.jsm.consumers.info(stream, durable_name)).num_ack_pending === 0,
        { message: 'nothing unacked' },
      );
      expect(
        await db.selectFrom('workers').select('id').where('id', '=', 'w-poison').execute(),
      ).toEqual([]);
    },
  );
});
