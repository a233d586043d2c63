import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer } from '@niyanta/testing';
import type { NatsServerHandle } from '@niyanta/testing';
import {
  buildEach,
  envelope,
  ensureStreams,
  InvalidSubjectTokenError,
  publishEach,
  STREAMS,
  SUBJECTS,
} from '../src/index.js';
import type { Outgoing } from '../src/index.js';

let natsServer: NatsServerHandle;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

beforeAll(async () => {
  natsServer = await startNatsServer();
  nc = await connect({ servers: natsServer.url });
  js = jetstream(nc, { timeout: 2_000 });
  jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, ['control']);
});

afterAll(async () => {
  await nc?.close();
  await natsServer?.[Symbol.asyncDispose]();
});

const stop = (workerId: string, subject = SUBJECTS.control(workerId)): Outgoing<'control'> => ({
  kind: 'control',
  subject,
  message: { ...envelope(), workerId, action: 'stop', reason: 'test' },
});

describe('buildEach', () => {
  it('builds every item it can and returns the others with their errors', () => {
    const { built, failed } = buildEach(['w-1', 'niyanta.assign.x', 'w-2'], (id) => stop(id));
    expect(built.map((b) => b.item)).toEqual(['w-1', 'w-2']);
    expect(built.map((b) => b.value.subject)).toEqual([
      'niyanta.control.w-1',
      'niyanta.control.w-2',
    ]);
    expect(failed).toEqual([
      { item: 'niyanta.assign.x', error: expect.any(InvalidSubjectTokenError) },
    ]);
  });
});

describe('publishEach', () => {
  it('publishes the messages around one the broker refuses and says which failed', async () => {
    const items = [
      stop('w-each-1'),
      // No stream binds this subject: the broker answers "no responders" for it alone.
      stop('w-each-2', 'test.no.stream'),
      stop('w-each-3'),
    ];
    const results = await publishEach(js, items);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ ok: false, error: expect.any(Error) });
    for (const id of ['w-each-1', 'w-each-3']) {
      const m = await jsm.streams.getMessage(STREAMS.control.name, {
        last_by_subj: SUBJECTS.control(id),
      });
      expect(m).not.toBeNull();
    }
  });

  it('sends each message once when the whole batch fails part-way', async () => {
    const first = stop('w-once-1');
    const results = await publishEach(js, [first, stop('w-once-2', 'test.no.stream.either')]);
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    const info = await jsm.streams.info(STREAMS.control.name, {
      subjects_filter: SUBJECTS.control('w-once-1'),
    });
    // Published in the batch and again alone, with the same Nats-Msg-Id: stored once.
    expect(info.state.subjects?.[SUBJECTS.control('w-once-1')]).toBe(1);
  });
});
