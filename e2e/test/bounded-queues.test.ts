// A full submit queue refuses new work with 503 and Retry-After, and loses none it accepted: the
// submit stream is a work queue with `discard: new`, sized by SUBMIT_QUEUE_MAX_MSGS, and every
// service creates it with the same limits.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { STREAMS } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { E2E_AUTH, startSystem } from './support/system.js';
import type { System } from './support/system.js';

const QUEUE_MAX = 3;

describe('a bounded submit queue', () => {
  let sys: System;

  beforeAll(async () => {
    sys = await startSystem({
      openBroker: true,
      workers: [],
      env: { SUBMIT_QUEUE_MAX_MSGS: String(QUEUE_MAX) },
    });
  });
  afterAll(async () => {
    await sys?.[Symbol.asyncDispose]();
  });

  it('answers 503 with Retry-After when full and keeps every submission it accepted', async () => {
    await sys.services.get('scheduler')!.kill('SIGKILL');
    const batch = await sys.api<{ items: { id: string }[] }>('POST', '/v1/workloads/batch', {
      workloads: Array.from({ length: QUEUE_MAX }, (_, i) => ({
        type: 'sleep',
        input: { seconds: 1 },
        idempotencyKey: `fill-${i}`,
      })),
    });
    expect(batch.status).toBe(202);
    const accepted = batch.body.items.map((item) => item.id);
    expect(accepted).toHaveLength(QUEUE_MAX);

    const res = await fetch(`${sys.apiUrl}/v1/workloads`, {
      method: 'POST',
      headers: { ...E2E_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'sleep', input: { seconds: 1 }, idempotencyKey: 'over' }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/submit queue is full/);

    // Nothing was dropped to make room: the stream still holds the accepted ones only.
    const info = await fetchStreamInfo(sys);
    expect(info.messages).toBe(QUEUE_MAX);
    expect(info.discard).toBe('new');
    expect(info.maxMsgs).toBe(QUEUE_MAX);

    await sys.restartService('scheduler');
    for (const id of accepted) await sys.waitForStatus(id, 'PENDING');
    const over = await sys.db
      .selectFrom('workloads')
      .select('id')
      .where('idempotency_key', '=', 'over')
      .execute();
    expect(over).toHaveLength(0);

    // Room again once the scheduler has ingested them.
    await waitFor(async () => (await fetchStreamInfo(sys)).messages === 0, { timeoutMs: 10_000 });
    const again = await sys.api('POST', '/v1/workloads', {
      type: 'sleep',
      input: { seconds: 1 },
      idempotencyKey: 'over',
    });
    expect(again.status).toBe(201);
  });
});

async function fetchStreamInfo(
  sys: System,
): Promise<{ messages: number; discard: string; maxMsgs: number }> {
  const nc = await connect({ servers: sys.nats.url });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(STREAMS.submit.name);
    return {
      messages: info.state.messages,
      discard: info.config.discard,
      maxMsgs: info.config.max_msgs,
    };
  } finally {
    await nc.close();
  }
}
