import {
  INGEST_NOTIFY_HEADER,
  SUBJECTS,
  decode,
  encode,
  ensureStreams,
  envelope,
  uuidv7,
} from '@niyanta/messages';
import type { WorkloadV1 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import type { Nats } from '@niyanta/runtime';
import { startNatsServer } from '@niyanta/testing';
import type { NatsServerHandle } from '@niyanta/testing';
import type { Principal } from '../src/auth/principal.js';
import { identityContext } from '../src/index.js';
import type { SubmitContext } from '../src/submit-context.js';
import { Connections } from '../src/connections.js';
import { createMetrics } from '../src/metrics.js';
import { SseRegistry } from '../src/sse-registry.js';
import { IngestWaiters } from '../src/ingest-waiters.js';
import { submittedWorkload } from '../src/submitted-workload.js';
import { submitWorkloads, toSubmission } from '../src/submissions.js';
import { publishAndWait } from '../src/wait-for-workloads.js';

const log = createLogger('publish-and-wait-test', 'silent');

let natsServer: NatsServerHandle;
let nats: Nats;
let ctx: SubmitContext;
const ROOT: Principal = { kind: 'root', actor: 'root', role: 'root', tenant: 'default' };

beforeAll(async () => {
  natsServer = await startNatsServer();
  nats = await connectNats({ url: natsServer.url, name: 'publish-and-wait-test', log });
  // No PostgreSQL: a lookup would fail, so only an ingest notice can answer.
  const connections = new Connections(log);
  connections.setNats(nats);
  const waiters = new IngestWaiters();
  waiters.listen(nats.nc);
  ctx = {
    ...identityContext(connections, log, { enabled: true, rootKey: undefined, metricsAuth: false }),
    tenant: 'default',
    submittedBy: 'root',
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

function notice(...workloads: [WorkloadV1, ...WorkloadV1[]]): Uint8Array {
  return encode('ingested', { ...envelope(), workloads });
}

function pendingWorkload(id: string): WorkloadV1 {
  return {
    ...submittedWorkload(toSubmission({ type: 'noop', input: {} }, id), 'default'),
    status: 'PENDING' as const,
  };
}

describe('publishAndWait', () => {
  it('answers from an ingest notice that arrives before the publish has returned', async () => {
    const id = uuidv7();
    const workload = pendingWorkload(id);
    const started = Date.now();
    const found = await publishAndWait(ctx, [{ id }], 5_000, async () => {
      // The notice is in before the submission's publish returns (a fast scheduler, or the
      // PubAck and the notice read from the socket together).
      nats.nc.publish(ctx.waiters.subject, notice(workload));
      await nats.nc.flush();
      await nats.nc.flush();
    });
    expect(found).toEqual([workload]);
    // Answered by the notice, not at the deadline.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(ctx.waiters.size).toBe(0);
  });

  it("publishes submissions naming this instance's notice subject, and answers 201 from the notice", async () => {
    await ensureStreams(nats.jsm, ['submit']);
    const heard: (string | undefined)[] = [];
    // Stands in for the scheduler: answers each submission on the subject its header names.
    const ingester = nats.nc.subscribe(SUBJECTS.submitAll, {
      callback: (_err, msg) => {
        const subject = msg.headers?.get(INGEST_NOTIFY_HEADER) || undefined;
        heard.push(subject);
        const decoded = decode('submission', msg.data);
        if (subject !== undefined && decoded.ok) {
          nats.nc.publish(subject, notice(pendingWorkload(decoded.value.id)));
        }
      },
    });
    try {
      const [result] = await submitWorkloads(ctx, ROOT, [{ type: 'noop', input: {} }], undefined);
      expect(result).toMatchObject({ kind: 'created', workload: { status: 'PENDING' } });
      expect(heard).toEqual([ctx.waiters.subject]);
      expect(ctx.waiters.size).toBe(0);
    } finally {
      ingester.unsubscribe();
    }
  });

  it('stops listening when the publish fails', async () => {
    const id = uuidv7();
    await expect(
      publishAndWait(ctx, [{ id }], 5_000, () => Promise.reject(new Error('broker refused'))),
    ).rejects.toThrow('broker refused');
    expect(ctx.waiters.size).toBe(0);
  });
});
