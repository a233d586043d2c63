import { decode, STREAMS, SUBJECTS, uuidv7 } from '@niyanta/messages';
import type { HeartbeatV1 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import type { Nats } from '@niyanta/runtime';
import { startNatsServer } from '@niyanta/testing';
import type { NatsServerHandle } from '@niyanta/testing';
import { startHeartbeats, WORKER_STATUS } from '../src/heartbeat.js';
import type { HeartbeatBody } from '../src/heartbeat.js';

const silent = createLogger('heartbeat-test', process.env.TEST_LOG_LEVEL ?? 'silent');

let server: NatsServerHandle;
let nats: Nats;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'heartbeat-test', log: silent });
});

afterAll(async () => {
  await nats?.close();
  await server?.[Symbol.asyncDispose]();
});

/** A heartbeat body of `runs` runs, each with its progress and start time. */
function body(workerId: string, runs: number): HeartbeatBody {
  const startedAt = new Date().toISOString();
  return {
    workerId,
    status: WORKER_STATUS.active,
    capacity: { slots: 10_000, cpu: 2, memoryMb: 4096, gpu: 0 },
    labels: {},
    types: ['sleep'],
    running: Array.from({ length: runs }, () => ({
      workloadId: uuidv7(),
      attempt: 1,
      fraction: 0.123456789,
      startedAt,
    })),
    startedAt,
    intervalMs: 60_000,
  };
}

/** Beats once and reads that beat back from the heartbeat stream. */
async function beatAndRead(workerId: string, runs: number) {
  const sent = body(workerId, runs);
  const beats = startHeartbeats({
    js: nats.js,
    workerId,
    intervalMs: 60_000,
    body: () => sent,
    log: silent,
  });
  try {
    await beats.beatNow();
  } finally {
    beats.stop();
  }
  const stored = await nats.jsm.streams.getMessage(STREAMS.heartbeat.name, {
    last_by_subj: SUBJECTS.heartbeat(workerId),
  });
  const decoded = stored === null ? undefined : decode('heartbeat', stored.data);
  return { sent, beat: decoded?.ok ? (decoded.value as HeartbeatV1) : undefined };
}

describe('heartbeats', () => {
  it('carry each run with its progress and start time', async () => {
    const { sent, beat } = await beatAndRead('w-heartbeat-small', 3);
    expect(beat?.running).toEqual(sent.running);
  });

  it('still go out from a worker running 10,000 runs, without their progress and start times', async () => {
    // With both, 10,000 runs pass NATS's 1 MiB max_payload: the worker would stop beating and
    // be declared dead while every run goes on.
    const { sent, beat } = await beatAndRead('w-heartbeat-full', 10_000);
    expect(beat?.running).toEqual(
      sent.running.map(({ workloadId, attempt }) => ({ workloadId, attempt })),
    );
    expect(beat).toMatchObject({ workerId: 'w-heartbeat-full', capacity: sent.capacity });
  });

  it('go on after a beat whose body cannot be made', async () => {
    const workerId = 'w-heartbeat-throws';
    let calls = 0;
    const beats = startHeartbeats({
      js: nats.js,
      workerId,
      intervalMs: 60_000,
      body: () => {
        calls += 1;
        if (calls === 1) throw new Error('runs snapshot failed');
        return body(workerId, 1);
      },
      log: silent,
    });
    try {
      // Resolves (the interval calls it unawaited: a rejection would be unhandled).
      await expect(beats.beatNow()).resolves.toBeUndefined();
      await beats.beatNow();
    } finally {
      beats.stop();
    }
    const stored = await nats.jsm.streams.getMessage(STREAMS.heartbeat.name, {
      last_by_subj: SUBJECTS.heartbeat(workerId),
    });
    expect(stored).not.toBeNull();
  });
});
