import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  ensureConsumer,
  ensureStreams,
  envelope,
  publishOne,
  STREAMS,
  SUBJECTS,
  uuidv7,
  workerConsumers,
} from '@niyanta/messages';
import { createLogger } from '@niyanta/runtime';
import { startNatsServer } from '@niyanta/testing';
import type { NatsServerHandle } from '@niyanta/testing';
import { forgetWorker } from '../src/worker-cleanup.js';

const log = createLogger('worker-cleanup-test', 'silent');

let server: NatsServerHandle;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, ['assign', 'control']);
});

afterAll(async () => {
  await nc?.close();
  await server?.[Symbol.asyncDispose]();
});

async function assignTo(workerId: string): Promise<void> {
  await publishOne(js, {
    kind: 'assignment',
    subject: SUBJECTS.assign(workerId),
    message: {
      ...envelope(),
      workerId,
      assignments: [
        {
          workloadId: uuidv7(),
          attempt: 1,
          tenant: 'default',
          type: 'sleep',
          input: {},
          timeoutSeconds: 60,
          checkpoint: null,
        },
      ],
    },
  });
}

describe('forgetWorker', () => {
  it("removes a dead worker's pending assignments and consumers", async () => {
    const workerId = `w-${uuidv7().slice(-8)}`;
    const consumers = workerConsumers(workerId);
    await ensureConsumer(jsm, consumers.assign);
    await ensureConsumer(jsm, consumers.control);
    await assignTo(workerId);
    await assignTo(workerId);
    expect(await forgetWorker(jsm, workerId, log)).toEqual({ purged: 2, consumersDeleted: 2 });
  });

  it('does nothing, and throws nothing, for a stored worker id that is not a subject token', async () => {
    const other = `w-${uuidv7().slice(-8)}`;
    await assignTo(other);
    for (const id of ['niyanta.assign.x', 'has space', '*', '>', '']) {
      await expect(forgetWorker(jsm, id, log)).resolves.toEqual({
        purged: 0,
        consumersDeleted: 0,
      });
    }
    // Nothing of any other worker was touched.
    const info = await jsm.streams.info(STREAMS.assign.name, {
      subjects_filter: SUBJECTS.assign(other),
    });
    expect(info.state.subjects?.[SUBJECTS.assign(other)]).toBe(1);
  });
});
