import { connect } from '@nats-io/transport-node';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { startNatsServer } from '@niyanta/testing';
import type { NatsServerHandle } from '@niyanta/testing';
import { envelope, publishCore } from '../src/index.js';

let natsServer: NatsServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  natsServer = await startNatsServer();
  nc = await connect({ servers: natsServer.url });
});

afterAll(async () => {
  await nc?.close();
  await natsServer?.[Symbol.asyncDispose]();
});

describe('publishCore', () => {
  it('sends the message id as Nats-Msg-Id unless told to send none', async () => {
    const received: Msg[] = [];
    const sub = nc.subscribe('test.publish.>', {
      callback: (_err, msg) => {
        received.push(msg);
      },
    });
    const message = (kind: 'status' | 'progress') => ({
      ...envelope(),
      workloadId: '01a2350d-f15a-72e0-b802-d16b2e16c2eb',
      kind,
    });
    const withId = message('status');
    publishCore(nc, [
      { kind: 'event', subject: 'test.publish.default', message: withId },
      { kind: 'event', subject: 'test.publish.none', message: message('progress'), msgId: null },
    ]);
    await nc.flush();
    await nc.flush();
    sub.unsubscribe();
    const bySubject = new Map(received.map((m) => [m.subject, m]));
    expect(bySubject.get('test.publish.default')?.headers?.get('Nats-Msg-Id')).toBe(withId.id);
    expect(bySubject.get('test.publish.none')?.headers?.has('Nats-Msg-Id')).toBe(false);
  });
});
