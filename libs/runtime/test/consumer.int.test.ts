import { randomBytes } from 'node:crypto';
import type { JsMsg } from '@nats-io/jetstream';
import { RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { SUBJECTS, decode, ensureConsumer } from '@niyanta/messages';
import type { DeadLetterV1 } from '@niyanta/messages';
import { createTestDatabase, freePort, startNatsServer, waitFor } from '@niyanta/testing';
import type { NatsServerHandle, TestDatabase } from '@niyanta/testing';
import type { Kysely } from 'kysely';
import {
  DeadLetters,
  connectNats,
  consumeBatches,
  createLogger,
  databaseDeadLetterSink,
} from '../src/index.js';
import type { Nats } from '../src/index.js';

jest.setTimeout(60_000);

const log = createLogger('consumer-test', 'silent');
let server: NatsServerHandle;
let nats: Nats;
let database: TestDatabase;
let db: Kysely<Database>;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'consumer-test', log });
  database = await createTestDatabase();
  db = createDb(database.url, { max: 3 });
});

afterAll(async () => {
  await db?.destroy();
  await database?.[Symbol.asyncDispose]();
  await nats?.close();
  await server?.[Symbol.asyncDispose]();
});

/** A work queue of its own, with its consumer and dead letters, for one test. */
async function setup(maxDeliver: number) {
  const name = `TEST_${randomBytes(4).toString('hex').toUpperCase()}`;
  const subject = `test.${name}`;
  await nats.jsm.streams.add({
    name,
    subjects: [`${subject}.>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.Memory,
  });
  const def = { stream: name, durable_name: `${name.toLowerCase()}-consumer` };
  const ensure = () => ensureConsumer(nats.jsm, def);
  await ensure();
  const deadLetters = new DeadLetters({
    stream: name,
    consumer: def.durable_name,
    sink: databaseDeadLetterSink({ db, js: nats.js, log }),
    log,
  });
  const announced: DeadLetterV1[] = [];
  const sub = nats.nc.subscribe(SUBJECTS.dead(name), {
    callback: (_err, m) => {
      const d = decode('deadLetter', m.data);
      if (d.ok) announced.push(d.value);
    },
  });
  await nats.nc.flush();
  const publish = async (bodies: string[]) => {
    const acks = [];
    for (const [i, b] of bodies.entries()) acks.push(await nats.js.publish(`${subject}.${i}`, b));
    return acks;
  };
  const start = (handle: (msgs: JsMsg[]) => Promise<void>) =>
    consumeBatches({
      js: nats.js,
      stream: name,
      consumer: def.durable_name,
      ensure,
      handle,
      log,
      deadLetters,
      maxDeliver,
      retryMinMs: 50,
      retryMaxMs: 100,
    });
  const drained = () =>
    waitFor(
      async () => {
        const info = await nats.jsm.consumers.info(name, def.durable_name);
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      { timeoutMs: 20_000, message: `consumer of ${name} to have nothing pending or unacked` },
    );
  const rows = () =>
    db
      .selectFrom('dead_letters')
      .selectAll()
      .where('stream', '=', name)
      .orderBy('stream_seq')
      .execute();
  return {
    name,
    deadLetters,
    announced,
    publish,
    start,
    drained,
    rows,
    close: () => sub.unsubscribe(),
  };
}

const text = (m: JsMsg) => Buffer.from(m.data).toString('utf8');

describe('consumeBatches', () => {
  it('retries a failed batch one by one: the others go through, the one that keeps failing is a dead letter after MAX_DELIVER deliveries', async () => {
    const t = await setup(3);
    const handled: string[] = [];
    const batches: string[][] = [];
    const bodies = Array.from({ length: 10 }, (_, i) => (i === 4 ? 'poison' : `ok-${i}`));
    const acks = await t.publish(bodies);
    await using _consumer = t.start(async (msgs) => {
      batches.push(msgs.map(text));
      if (msgs.some((m) => text(m) === 'poison')) throw new Error('cannot handle poison');
      for (const m of msgs) {
        handled.push(text(m));
        m.ack();
      }
    });
    const [row] = await waitFor(
      async () => {
        const r = await t.rows();
        return r.length === 1 ? r : undefined;
      },
      { message: 'the dead letter', timeoutMs: 20_000 },
    );
    await t.drained();
    expect(handled.sort()).toEqual(bodies.filter((b) => b !== 'poison').sort());
    // The whole batch once, then each message alone; the poison alone until its third delivery.
    expect(batches[0]).toEqual(bodies);
    expect(batches.filter((b) => b.length === 1 && b[0] === 'poison')).toHaveLength(3);
    expect(row).toMatchObject({
      consumer: expect.stringMatching(/-consumer$/),
      stream_seq: String(acks[4]!.seq),
      error: 'Error: cannot handle poison',
      deliveries: 3,
    });
    expect(Buffer.from(row!.data).toString()).toBe('poison');
    await waitFor(() => t.announced.length === 1, { message: 'the announcement' });
    expect(t.announced[0]).toMatchObject({
      stream: t.name,
      streamSeq: acks[4]!.seq,
      data: Buffer.from('poison').toString('base64'),
      size: 6,
      deliveries: 3,
      recorded: true,
    });
    t.close();
  });

  it('never dead-letters a message whose handling fails for a lost connection, and handles it once the database answers', async () => {
    const t = await setup(2);
    // A database nobody listens on: node-postgres fails with ECONNREFUSED, as while PostgreSQL is down.
    const down = createDb(`postgres://niyanta@127.0.0.1:${await freePort()}/none`, { max: 1 });
    let outage = 0;
    const handled: string[] = [];
    await t.publish(['a', 'b', 'c']);
    try {
      await using _consumer = t.start(async (msgs) => {
        // Down for five rounds: more deliveries than MAX_DELIVER.
        if (outage++ < 5) await down.selectFrom('dead_letters').select('id').execute();
        for (const m of msgs) {
          handled.push(text(m));
          m.ack();
        }
      });
      await waitFor(() => handled.length === 3, {
        message: 'all three handled',
        timeoutMs: 20_000,
      });
      await t.drained();
    } finally {
      await down.destroy();
    }
    expect(outage).toBeGreaterThan(5);
    expect(handled.sort()).toEqual(['a', 'b', 'c']);
    expect(await t.rows()).toEqual([]);
    t.close();
  });

  it('stops retrying one by one at a transient failure and redelivers the rest with backoff', async () => {
    const t = await setup(2);
    let calls = 0;
    const handled: string[] = [];
    await t.publish(['x', 'poison', 'y', 'z']);
    await using _consumer = t.start(async (msgs) => {
      calls++;
      // First the batch fails for the poison, then its first single retry meets an outage.
      if (calls === 2)
        throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
      if (msgs.some((m) => text(m) === 'poison')) throw new Error('bad');
      for (const m of msgs) {
        handled.push(text(m));
        m.ack();
      }
    });
    await waitFor(async () => (await t.rows()).length === 1, {
      message: 'the poison dead-lettered',
      timeoutMs: 20_000,
    });
    await t.drained();
    expect(handled.sort()).toEqual(['x', 'y', 'z']);
    const [row] = await t.rows();
    expect(row).toMatchObject({ error: 'Error: bad' });
    t.close();
  });

  it("leaves a handler's own naks alone: a message it puts off is no failure", async () => {
    const t = await setup(1);
    const deliveries: number[] = [];
    await t.publish(['later']);
    await using _consumer = t.start(async (msgs) => {
      for (const m of msgs) {
        deliveries.push(m.info.deliveryCount);
        if (m.info.deliveryCount < 4) m.nak(20);
        else m.ack();
      }
    });
    await waitFor(() => deliveries.length === 4, { message: 'four deliveries' });
    await t.drained();
    expect(await t.rows()).toEqual([]);
    t.close();
  });

  it('records a message that does not decode at once, with its reason, and terminates it', async () => {
    const t = await setup(5);
    const acks = await t.publish(['\u0000', JSON.stringify({ schemaVersion: 1 })]);
    await using _consumer = t.start(async (msgs) => {
      for (const { msg } of await t.deadLetters.decode('heartbeat', msgs)) msg.ack();
    });
    const rows = await waitFor(
      async () => {
        const r = await t.rows();
        return r.length === 2 ? r : undefined;
      },
      { message: 'two dead letters' },
    );
    await t.drained();
    expect(rows.map((r) => r.stream_seq)).toEqual(acks.map((a) => String(a.seq)));
    expect(rows[0]).toMatchObject({
      deliveries: 1,
      error: expect.stringMatching(/^payload is not JSON/),
    });
    expect(rows[0]!.error).not.toContain('\u0000');
    expect(Buffer.from(rows[0]!.data)).toEqual(Buffer.from([0]));
    expect(rows[1]!.error).toMatch(/^invalid heartbeat: .*\/id is required/);
    t.close();
  });
});
