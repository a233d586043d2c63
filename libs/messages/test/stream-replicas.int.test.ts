import { jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer } from '@niyanta/testing';
import type { NatsServerHandle } from '@niyanta/testing';
import { DEFAULT_STREAM_LIMITS, STREAMS, StreamSetupError, ensureStreams } from '../src/index.js';

let natsServer: NatsServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  natsServer = await startNatsServer();
  nc = await connect({ servers: natsServer.url });
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await nc?.close();
  await natsServer?.[Symbol.asyncDispose]();
});

describe('stream replicas', () => {
  it('creates every stream with one copy by default and leaves it alone the next time', async () => {
    await ensureStreams(jsm);
    const created = await jsm.streams.info(STREAMS.submit.name);
    expect(created.config.num_replicas).toBe(1);
    await ensureStreams(jsm);
    // An unchanged stream is not updated: its creation time and configuration stay.
    const again = await jsm.streams.info(STREAMS.submit.name);
    expect(again.created).toBe(created.created);
    expect(again.config).toEqual(created.config);
  });

  it('names the stream and NATS_STREAM_REPLICAS when the server refuses the replicas', async () => {
    await jsm.streams.delete(STREAMS.command.name);
    const limits = { ...DEFAULT_STREAM_LIMITS, replicas: 3 };
    const failure = await ensureStreams(jsm, ['command'], limits).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StreamSetupError);
    expect((failure as StreamSetupError).stream).toBe(STREAMS.command.name);
    expect((failure as Error).message).toContain(
      'creating or updating stream NIYANTA_COMMAND with 3 replica(s) failed',
    );
    expect((failure as Error).message).toContain('NATS_STREAM_REPLICAS (3) may not exceed');
  });
});
