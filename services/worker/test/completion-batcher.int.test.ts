import type { JetStreamClient } from '@nats-io/jetstream';
import { createFsBlobStore } from '@niyanta/blob-store';
import { decode, STREAMS, SUBJECTS, uuidv7 } from '@niyanta/messages';
import type { CompletionBatchV1 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import type { Nats } from '@niyanta/runtime';
import { startNatsServer } from '@niyanta/testing';
import type { NatsServerHandle } from '@niyanta/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStorage } from '../src/checkpoint-upload.js';
import { COMPLETION_MAX_BYTES, CompletionBatcher } from '../src/completion.js';
import type { CompletionBody } from '../src/completion.js';
import { Runner } from '../src/runner.js';
import { noopWorkload } from '../src/workloads/noop.js';

const silent = createLogger('completion-test', process.env.TEST_LOG_LEVEL ?? 'silent');

let server: NatsServerHandle;
let nats: Nats;
let workerSeq = 0;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'completion-test', log: silent });
});

afterAll(async () => {
  await nats?.close();
  await server?.[Symbol.asyncDispose]();
});

/** A batcher of a new worker id (so each test reads only its own batches). */
function newBatcher(opts: Partial<ConstructorParameters<typeof CompletionBatcher>[0]> = {}): {
  workerId: string;
  batcher: CompletionBatcher;
} {
  const workerId = `w-batch-${++workerSeq}-${process.pid}`;
  return {
    workerId,
    batcher: new CompletionBatcher({ js: nats.js, workerId, log: silent, ...opts }),
  };
}

/** The batches of a worker still in NIYANTA_COMPLETE (nothing consumes them here), in stream order. */
async function batchesOf(workerId: string): Promise<CompletionBatchV1[]> {
  const subject = SUBJECTS.completions(workerId);
  const { state } = await nats.jsm.streams.info(STREAMS.complete.name);
  const out: CompletionBatchV1[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const m = await nats.jsm.streams.getMessage(STREAMS.complete.name, { seq });
    if (m === null || m.subject !== subject) continue;
    const d = decode('completionBatch', m.data);
    if (!d.ok) throw new Error(d.reason);
    out.push(d.value);
  }
  return out;
}

/**
 * A JetStream client whose first `n` publish acks are lost after the broker stored the message.
 * It hides its connection, so `publishAll` goes through `publish` (as for any test double).
 */
function losingAcks(js: JetStreamClient, n: number): { js: JetStreamClient; msgIds: string[] } {
  const msgIds: string[] = [];
  let lose = n;
  const wrapped = new Proxy(js, {
    get(target, prop) {
      if (prop === 'nc') return undefined;
      if (prop === 'publish') {
        return async (...args: Parameters<JetStreamClient['publish']>) => {
          const opts = args[2];
          msgIds.push(opts?.msgID ?? opts?.headers?.get('Nats-Msg-Id') ?? '');
          const ack = await target.publish(...args);
          if (lose-- > 0) throw new Error('ack lost (test)');
          return ack;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  return { js: wrapped, msgIds };
}

const succeeded = (result: unknown = null): CompletionBody => ({
  workloadId: uuidv7(),
  attempt: 1,
  outcome: 'succeeded',
  result,
});

describe('CompletionBatcher', () => {
  it('sends the completions of one linger as one completion-batch, resolving each once acked', async () => {
    const { workerId, batcher } = newBatcher({ lingerMs: 20 });
    const items = Array.from({ length: 5 }, (_, i) => succeeded({ i }));
    await Promise.all(items.map((c) => batcher.send(c)));
    const batches = await batchesOf(workerId);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ workerId, completions: items });
  });

  it('sends at once when maxItems are queued, and splits before the byte limit', async () => {
    const { workerId, batcher } = newBatcher({
      lingerMs: 60_000,
      sendWhenIdle: false,
      maxItems: 3,
      maxBytes: 1_000,
    });
    // Three small ones fill a batch by count; no linger timer is needed to send it.
    await Promise.all([1, 2, 3].map((i) => batcher.send(succeeded({ i }))));
    // Three of ~400 bytes: the third would pass 1,000 bytes, so it opens a new batch.
    const big = [1, 2, 3].map((i) => succeeded({ i, pad: 'x'.repeat(300) }));
    const sent = big.map((c) => batcher.send(c));
    await Promise.all(sent.slice(0, 2));
    await batcher.flush();
    await Promise.all(sent);
    const batches = await batchesOf(workerId);
    expect(batches.map((b) => b.completions.length)).toEqual([3, 2, 1]);
    expect(batches.flatMap((b) => b.completions).slice(3)).toEqual(big);
  });

  it('retries a batch whose ack was lost with the same message id; the broker keeps it once', async () => {
    const { js, msgIds } = losingAcks(nats.js, 1);
    const { workerId, batcher } = newBatcher({ js });
    const item = succeeded({ ok: true });
    await batcher.send(item);
    expect(msgIds).toHaveLength(2);
    expect(msgIds[1]).toBe(msgIds[0]);
    const batches = await batchesOf(workerId);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ id: msgIds[0], completions: [item] });
  });

  it('turns a completion too large or invalid for a message into a non-retryable failure', async () => {
    const { workerId, batcher } = newBatcher();
    const big = succeeded('x'.repeat(COMPLETION_MAX_BYTES + 1));
    const invalid: CompletionBody = {
      workloadId: uuidv7(),
      attempt: 1,
      outcome: 'failed',
      error: { message: 'no code' } as never,
    };
    const fine = succeeded(1);
    await Promise.all([batcher.send(big), batcher.send(invalid), batcher.send(fine)]);
    const [batch] = await batchesOf(workerId);
    expect(batch?.completions).toEqual([
      {
        workloadId: big.workloadId,
        attempt: 1,
        outcome: 'failed',
        error: expect.objectContaining({ code: 'RESULT_TOO_LARGE', retryable: false }),
      },
      {
        workloadId: invalid.workloadId,
        attempt: 1,
        outcome: 'failed',
        error: expect.objectContaining({ code: 'INVALID_COMPLETION', retryable: false }),
      },
      fine,
    ]);
    expect(batch?.completions[1]?.error?.message).toContain('/error');
  });

  it('sends a completion at the end of its turn while nothing is unacked, and lingers one queued while a message is', async () => {
    // A linger far past the test's timeout: only the idle path or a flush can send these.
    const { workerId, batcher } = newBatcher({ lingerMs: 60_000 });
    const first = succeeded({ i: 1 });
    const second = succeeded({ i: 2 });
    const firstAcked = batcher.send(first);
    // The turn ends: the first goes out; its ack needs a round trip, so it is still unacked here.
    await new Promise((resolve) => setImmediate(resolve));
    const secondAcked = batcher.send(second);
    await firstAcked;
    expect((await batchesOf(workerId)).map((b) => b.completions)).toEqual([[first]]);
    await batcher.flush();
    await secondAcked;
    expect((await batchesOf(workerId)).map((b) => b.completions)).toEqual([[first], [second]]);
  });

  it('flush sends what waits for the linger and resolves once it is acked', async () => {
    const { workerId, batcher } = newBatcher({ lingerMs: 60_000, sendWhenIdle: false });
    let acked = 0;
    const sent = [1, 2, 3].map((i) => batcher.send(succeeded({ i })).then(() => acked++));
    expect(await batchesOf(workerId)).toHaveLength(0);
    await batcher.flush();
    await Promise.all(sent);
    expect(acked).toBe(3);
    expect((await batchesOf(workerId)).map((b) => b.completions.length)).toEqual([3]);
  });
});

describe('Runner.finish', () => {
  it('flushes pending completions before it resolves (drain)', async () => {
    // A linger far past the test's timeout: only the drain can send these completions.
    const { workerId, batcher: completions } = newBatcher({
      lingerMs: 600_000,
      sendWhenIdle: false,
    });
    const dir = await mkdtemp(join(tmpdir(), 'worker-blobs-'));
    const checkpoints = new CheckpointStorage(createFsBlobStore({ dir }), 1024);
    try {
      const runner = new Runner({
        js: nats.js,
        workerId,
        slots: 2,
        definitions: new Map([[noopWorkload.type, noopWorkload]]),
        log: silent,
        completions,
        checkpoints,
      });
      const ids = [1, 2, 3, 4].map(() => uuidv7());
      for (const workloadId of ids) {
        runner.accept({
          workloadId,
          tenant: 'default',
          type: noopWorkload.type,
          attempt: 1,
          input: { workloadId },
          timeoutSeconds: null,
          checkpoint: null,
        });
      }
      // Two run and wait for their completion's ack; two wait in the queue for a slot.
      await new Promise((resolve) => setImmediate(resolve));
      expect(runner.runningCount).toBe(2);
      expect(await batchesOf(workerId)).toHaveLength(0);
      await runner.finish(5_000);
      const done = (await batchesOf(workerId)).flatMap((b) => b.completions);
      expect(done.map((c) => [c.workloadId, c.outcome]).sort()).toEqual(
        [
          [ids[0], 'succeeded'],
          [ids[1], 'succeeded'],
          [ids[2], 'released'],
          [ids[3], 'released'],
        ].sort(),
      );
      // Short runs sent no `started`: their completions say when they started.
      expect(done.filter((c) => c.outcome === 'succeeded').every((c) => c.startedAt)).toBe(true);
      expect(runner.runningCount).toBe(0);
    } finally {
      await checkpoints.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
