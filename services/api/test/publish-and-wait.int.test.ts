import { SUBJECTS, encode, envelope, uuidv7 } from '@niyanta/messages';
import type { WorkloadV1 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import type { Nats } from '@niyanta/runtime';
import { startNatsServer } from '@niyanta/testing';
import type { NatsServerHandle } from '@niyanta/testing';
import type { ApiContext } from '../src/api-context.js';
import { Connections } from '../src/connections.js';
import { createMetrics } from '../src/metrics.js';
import { SseRegistry } from '../src/sse-registry.js';
import { StatusWaiters } from '../src/status-waiters.js';
import { submittedWorkload } from '../src/submitted-workload.js';
import { toSubmission } from '../src/submissions.js';
import { publishAndWait } from '../src/wait-for-workloads.js';

const log = createLogger('publish-and-wait-test', 'silent');

let natsServer: NatsServerHandle;
let nats: Nats;
let ctx: ApiContext;

beforeAll(async () => {
  natsServer = await startNatsServer();
  nats = await connectNats({ url: natsServer.url, name: 'publish-and-wait-test', log });
  // No PostgreSQL: a lookup would fail, so only a status event can answer.
  const connections = new Connections(log);
  connections.setNats(nats);
  const waiters = new StatusWaiters();
  waiters.listen(nats.nc);
  ctx = {
    tenant: 'default',
    submitWaitMs: 1_000,
    log,
    connections,
    waiters,
    streams: new SseRegistry(),
    metrics: createMetrics(),
  };
});

afterAll(async () => {
  await nats?.close();
  await natsServer?.[Symbol.asyncDispose]();
});

function statusEvent(workload: WorkloadV1): Uint8Array {
  return encode('event', {
    ...envelope(),
    workloadId: workload.id,
    kind: 'status',
    fromStatus: null,
    toStatus: 'PENDING',
    attempt: 0,
    reason: 'submitted',
    workload,
  });
}

describe('publishAndWait', () => {
  it('answers from a status event that arrives before the publish has returned', async () => {
    const id = uuidv7();
    const workload = {
      ...submittedWorkload(toSubmission({ type: 'noop', input: {} }, id), 'default'),
      status: 'PENDING' as const,
    };
    const started = Date.now();
    const found = await publishAndWait(ctx, [{ id }], 5_000, async () => {
      // The event is in before the submission's publish returns (a fast scheduler, or the
      // PubAck and the event read from the socket together).
      nats.nc.publish(SUBJECTS.events(id), statusEvent(workload));
      await nats.nc.flush();
      await nats.nc.flush();
    });
    expect(found).toEqual([workload]);
    // Answered by the event, not at the deadline.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(ctx.waiters.size).toBe(0);
  });

  it('stops listening when the publish fails', async () => {
    const id = uuidv7();
    await expect(
      publishAndWait(ctx, [{ id }], 5_000, () => Promise.reject(new Error('broker refused'))),
    ).rejects.toThrow('broker refused');
    expect(ctx.waiters.size).toBe(0);
  });
});
