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

  it('publishes the messages around one the client refuses, then throws saying how many failed', async () => {
    const received: string[] = [];
    const sub = nc.subscribe('test.refused.>', {
      callback: (_err, msg) => {
        received.push(msg.subject);
      },
    });
    const event = (extra: object = {}) => ({
      ...envelope(),
      workloadId: '01a2350d-f15a-72e0-b802-d16b2e16c2eb',
      kind: 'status' as const,
      ...extra,
    });
    // Over the server's max_payload (1 MiB by default): the client throws on publishing it.
    const huge = event({ reason: 'x'.repeat(2 * 1024 * 1024) });
    expect(() =>
      publishCore(nc, [
        { kind: 'event', subject: 'test.refused.before', message: event() },
        { kind: 'event', subject: 'test.refused.huge', message: huge },
        { kind: 'event', subject: 'test.refused.after', message: event() },
      ]),
    ).toThrow(/^1 of 3 messages not published: .*max_payload/);
    await nc.flush();
    await nc.flush();
    sub.unsubscribe();
    expect(received).toEqual(['test.refused.before', 'test.refused.after']);
  });

  it('sends a status event too large for one message without its workload snapshot', async () => {
    const received: Msg[] = [];
    const sub = nc.subscribe('test.lighter.>', {
      callback: (_err, msg) => {
        received.push(msg);
      },
    });
    const workloadId = '01a2350d-f15a-72e0-b802-d16b2e16c2eb';
    const status = (workload: object) => ({
      ...envelope(),
      workloadId,
      kind: 'status' as const,
      fromStatus: 'RUNNING',
      toStatus: 'COMPLETED',
      attempt: 1,
      reason: null,
      workload,
    });
    const small = status({ id: workloadId, result: 'ok' });
    // Over the server's max_payload (1 MiB by default) with its snapshot.
    const large = status({ id: workloadId, result: 'x'.repeat(2 * 1024 * 1024) });
    publishCore(nc, [
      { kind: 'event', subject: 'test.lighter.small', message: small, validated: true },
      { kind: 'event', subject: 'test.lighter.large', message: large, validated: true },
    ]);
    await nc.flush();
    await nc.flush();
    sub.unsubscribe();
    const bySubject = new Map(received.map((m) => [m.subject, m.json<Record<string, unknown>>()]));
    expect(bySubject.get('test.lighter.small')).toEqual(small);
    const { workload: _snapshot, ...withoutSnapshot } = large;
    expect(bySubject.get('test.lighter.large')).toEqual(withoutSnapshot);
  });
});
