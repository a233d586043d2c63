import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer } from '@niyanta/testing';
import type { NatsServerHandle } from '@niyanta/testing';
import { MessageTooLargeError, envelope, publishAll, publishOne } from '../src/index.js';
import type { Outgoing } from '../src/index.js';

// A small max_payload keeps the messages small; the guard reads it from the connected server.
const MAX_PAYLOAD = 8192;
const STREAM = 'TEST_PUBLISH_LIMIT';

let natsServer: NatsServerHandle;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

beforeAll(async () => {
  natsServer = await startNatsServer({ maxPayload: MAX_PAYLOAD });
  nc = await connect({ servers: natsServer.url });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM, subjects: ['test.limit.>'] });
});

afterAll(async () => {
  await nc?.close();
  await natsServer?.[Symbol.asyncDispose]();
});

const stored = async () => (await jsm.streams.info(STREAM)).state.messages;

/** A status event of `padding` characters of reason: its body grows byte for byte with it. */
function event(subject: string, padding: number): Outgoing<'event'> {
  return {
    kind: 'event',
    subject,
    message: {
      ...envelope(),
      workloadId: '01a2350d-f15a-72e0-b802-d16b2e16c2eb',
      kind: 'status',
      reason: 'x'.repeat(padding),
    },
  };
}

describe('publishing past the server max_payload', () => {
  it('reads the limit from the server', () => {
    expect(nc.info?.max_payload).toBe(MAX_PAYLOAD);
  });

  it('refuses a message over max_payload with its subject, size and limit, sending nothing', async () => {
    const before = await stored();
    const err = await publishOne(js, event('test.limit.one', MAX_PAYLOAD)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MessageTooLargeError);
    expect(err).toMatchObject({
      name: 'MessageTooLargeError',
      kind: 'event',
      subject: 'test.limit.one',
      limit: MAX_PAYLOAD,
      index: 0,
    });
    const { size, message } = err as MessageTooLargeError;
    expect(size).toBeGreaterThan(MAX_PAYLOAD);
    expect(message).toContain(`is ${size} bytes with its headers`);
    expect(message).toContain(`accepts at most ${MAX_PAYLOAD}`);
    await nc.flush();
    expect(await stored()).toBe(before);
    // The connection is as it was: the server never saw the message.
    expect(nc.isClosed()).toBe(false);
    await publishOne(js, event('test.limit.one', 10));
    expect(await stored()).toBe(before + 1);
  });

  it('counts the headers: a body under the limit whose headers pass it is refused, one byte less fits', async () => {
    const probe = (await publishOne(js, event('test.limit.edge', MAX_PAYLOAD)).catch(
      (e: unknown) => e,
    )) as MessageTooLargeError;
    // Shrink the body until body and headers make exactly max_payload.
    const padding = MAX_PAYLOAD - (probe.size - MAX_PAYLOAD);
    const over = await publishOne(js, event('test.limit.edge', padding + 1)).catch(
      (e: unknown) => e,
    );
    expect(over).toMatchObject({ size: MAX_PAYLOAD + 1, limit: MAX_PAYLOAD });
    // Exactly at the limit: the server takes it (its own count agrees with the guard's).
    const ack = await publishOne(js, event('test.limit.edge', padding));
    expect(ack.stream).toBe(STREAM);
  });

  it('refuses a whole publishAll call, naming the message, when one of them is too large', async () => {
    const before = await stored();
    const err = await publishAll(js, [
      event('test.limit.batch.0', 10),
      event('test.limit.batch.1', 10),
      event('test.limit.batch.2', MAX_PAYLOAD),
      event('test.limit.batch.3', 10),
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MessageTooLargeError);
    expect(err).toMatchObject({ subject: 'test.limit.batch.2', index: 2 });
    await nc.flush();
    expect(await stored()).toBe(before);
  });
});
