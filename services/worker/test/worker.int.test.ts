import {
  decode,
  envelope,
  publishOne,
  STREAMS,
  SUBJECTS,
  uuidv7,
  workerConsumers,
} from '@niyanta/messages';
import type { AssignmentV1, ControlV1, DeadLetterV1, HeartbeatV1 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import type { Nats } from '@niyanta/runtime';
import { freePort, startNatsServer, waitFor } from '@niyanta/testing';
import type { NatsServerHandle } from '@niyanta/testing';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointBlobKey, createFsBlobStore } from '@niyanta/blob-store';
import { loadConfig, start, STARTED_REPORT_DELAY_MS } from '../src/index.js';
import type { Worker } from '../src/index.js';
import { collect, collectCompletions } from './nats-collector.js';
import type { Collector, CompletionCollector } from './nats-collector.js';

type Assignment = AssignmentV1['assignments'][number];

const silent = createLogger('worker-test', process.env.TEST_LOG_LEVEL ?? 'silent');

let server: NatsServerHandle;
let nats: Nats;
let heartbeats: Collector<'heartbeat'>;
let runs: Collector<'runUpdate'>;
let completions: CompletionCollector;
let checkpoints: Collector<'checkpoint'>;
let logs: Collector<'log'>;
let workerSeq = 0;

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'worker-test', log: silent });
  heartbeats = await collect(nats, STREAMS.heartbeat.name, 'heartbeat');
  runs = await collect(nats, STREAMS.run.name, 'runUpdate');
  completions = await collectCompletions(nats);
  checkpoints = await collect(nats, STREAMS.checkpoint.name, 'checkpoint');
  logs = await collect(nats, STREAMS.logs.name, 'log');
});

afterAll(async () => {
  for (const c of [heartbeats, runs, completions, checkpoints, logs]) await c?.close();
  await nats?.close();
  await server?.[Symbol.asyncDispose]();
});

afterEach(() => {
  // The worker must never publish a message that breaks its schema.
  for (const c of [heartbeats, runs, completions, checkpoints, logs]) expect(c.invalid).toEqual([]);
});

/** A temp directory, removed on dispose. */
async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await mkdtemp(join(tmpdir(), 'worker-blobs-'));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

async function startWorker(env: Record<string, string> = {}): Promise<Worker> {
  const config = loadConfig({
    NATS_URL: server.url,
    PATH: process.env.PATH ?? '',
    WORKER_ID: `w-test-${++workerSeq}-${process.pid}`,
    HEARTBEAT_INTERVAL_MS: '500',
    DRAIN_TIMEOUT_MS: '2000',
    ...env,
  });
  return start(config, { log: silent });
}

function assignment(over: Partial<Assignment> & Pick<Assignment, 'type' | 'input'>): Assignment {
  return {
    workloadId: uuidv7(),
    tenant: 'default',
    attempt: 1,
    timeoutSeconds: null,
    checkpoint: null,
    ...over,
  };
}

async function assign(worker: Worker, ...assignments: Assignment[]): Promise<void> {
  await assignTraced(worker, undefined, ...assignments);
}

async function assignTraced(
  worker: Worker,
  traceparent: string | undefined,
  ...assignments: Assignment[]
): Promise<void> {
  await publishOne(nats.js, {
    traceparent,
    kind: 'assignment',
    subject: SUBJECTS.assign(worker.workerId),
    message: {
      ...envelope(),
      workerId: worker.workerId,
      assignments: assignments as AssignmentV1['assignments'],
    },
  });
}

async function control(
  worker: Worker,
  body: Omit<ControlV1, 'schemaVersion' | 'id' | 'time' | 'workerId'>,
): Promise<void> {
  await publishOne(nats.js, {
    kind: 'control',
    subject: SUBJECTS.control(worker.workerId),
    message: { ...envelope(), workerId: worker.workerId, ...body },
  });
}

const completionOf = (workloadId: string, timeoutMs = 10_000) =>
  waitFor(() => completions.completions.find((c) => c.workloadId === workloadId), {
    timeoutMs,
    message: `the completion of ${workloadId}`,
  });
const startedOf = (workloadId: string) =>
  waitFor(() => runs.items.find((r) => r.workloadId === workloadId && r.kind === 'started'), {
    message: `the start of ${workloadId}`,
  });
const beatsOf = (workerId: string): HeartbeatV1[] =>
  heartbeats.items.filter((h) => h.workerId === workerId);

describe('worker', () => {
  it('publishes a first heartbeat with capacity, labels, zone and types (exec only when allowed)', async () => {
    await using withExec = await startWorker({
      WORKER_SLOTS: '3',
      WORKER_CPU: '2.5',
      WORKER_MEMORY_MB: '2048',
      WORKER_GPU: '1',
      WORKER_LABELS: 'tier=batch, gpu=a100',
      WORKER_ZONE: 'eu-1a',
      WORKER_EXEC_ALLOW: 'sh',
    });
    await using plain = await startWorker();
    const first = await waitFor(() => beatsOf(withExec.workerId)[0], {
      message: 'the first heartbeat',
    });
    expect(first).toMatchObject({
      workerId: withExec.workerId,
      status: 'ACTIVE',
      capacity: { slots: 3, cpu: 2.5, memoryMb: 2048, gpu: 1 },
      labels: { tier: 'batch', gpu: 'a100' },
      zone: 'eu-1a',
      types: ['exec', 'noop', 'sleep'],
      running: [],
      intervalMs: 500,
    });
    const plainFirst = await waitFor(() => beatsOf(plain.workerId)[0], {
      message: 'the first heartbeat',
    });
    expect(plainFirst.types).toEqual(['noop', 'sleep']);
    expect(plainFirst.labels).toEqual({});
    expect(plainFirst).not.toHaveProperty('zone');
    expect(plainFirst.capacity.slots).toBe(4);
    // Then every HEARTBEAT_INTERVAL_MS.
    await waitFor(() => beatsOf(plain.workerId).length >= 2, { message: 'a periodic heartbeat' });
  });

  it('runs a sleep: started, progress, checkpoints with increasing seq, then succeeded with the result', async () => {
    await using worker = await startWorker();
    const a = assignment({ type: 'sleep', input: { durationMs: 400, steps: 4 } });
    const traceId = 'ab'.repeat(16);
    await assignTraced(worker, `00-${traceId}-${'cd'.repeat(8)}-01`, a);
    const done = await completionOf(a.workloadId);
    expect(done).toMatchObject({
      workloadId: a.workloadId,
      attempt: 1,
      workerId: worker.workerId,
      outcome: 'succeeded',
      result: { sleptMs: 400, steps: 4, resumedFromStep: 0 },
    });
    const updates = runs.items.filter((r) => r.workloadId === a.workloadId);
    expect(updates[0]).toMatchObject({ kind: 'started', attempt: 1, workerId: worker.workerId });
    const progress = updates.filter((u) => u.kind === 'progress').map((u) => u.progress);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    // The latest value is always sent, even when throttled.
    expect(progress.at(-1)).toEqual({ fraction: 1, message: 'step 4/4' });
    const cps = checkpoints.items.filter((c) => c.workloadId === a.workloadId);
    expect(cps.map((c) => [c.seq, c.data])).toEqual([
      [1, { step: 1 }],
      [2, { step: 2 }],
      [3, { step: 3 }],
      [4, { step: 4 }],
    ]);
    expect(cps.every((c) => c.attempt === 1)).toBe(true);
    // One trace follows the workload: everything the run published continues the assignment's.
    for (const id of [...updates, ...cps].map((m) => m.id).concat(done.batchId)) {
      const trace = runs.traces.get(id) ?? checkpoints.traces.get(id) ?? completions.traces.get(id);
      expect(trace?.split('-')[1]).toBe(traceId);
    }
  });

  it('sends many quick runs as few completion batches carrying every completion, with no started', async () => {
    await using worker = await startWorker({ WORKER_SLOTS: '50' });
    const all = Array.from({ length: 300 }, (_, i) => assignment({ type: 'noop', input: { i } }));
    await assign(worker, ...all);
    const ids = new Set(all.map((a) => a.workloadId));
    await waitFor(
      () => completions.completions.filter((c) => ids.has(c.workloadId)).length === all.length,
      { message: 'every completion' },
    );
    const done = completions.completions.filter((c) => ids.has(c.workloadId));
    expect(new Set(done.map((c) => c.workloadId)).size).toBe(all.length);
    expect(done.every((c) => c.outcome === 'succeeded' && c.workerId === worker.workerId)).toBe(
      true,
    );
    // 50 slots: the runs of one turn share a message (about one per 50 here, never one each).
    const batches = completions.items.filter((b) => b.workerId === worker.workerId);
    expect(batches.length).toBeLessThanOrEqual(all.length / 10);
    // None ran past the started delay: no run update at all, the start rides on the completion.
    expect(done.every((c) => c.startedAt !== undefined)).toBe(true);
    const barrier = assignment({ type: 'sleep', input: { durationMs: 200, steps: 1 } });
    await assign(worker, barrier);
    await startedOf(barrier.workloadId);
    expect(runs.items.some((r) => ids.has(r.workloadId))).toBe(false);
  });

  it('sends no started for a run shorter than the delay; its completion carries startedAt', async () => {
    await using worker = await startWorker();
    // A run that reports no progress (progress sends `started` first, whenever it comes).
    const a = assignment({ type: 'noop', input: { quick: true } });
    const before = Date.now();
    await assign(worker, a);
    const done = await completionOf(a.workloadId);
    expect(done).toMatchObject({ outcome: 'succeeded', startedAt: expect.any(String) });
    const startedAt = Date.parse(done.startedAt!);
    expect(startedAt).toBeGreaterThanOrEqual(before);
    expect(startedAt).toBeLessThanOrEqual(Date.parse(done.time));
    // A later run's `started` is behind anything `a` published on the same connection.
    const barrier = assignment({ type: 'sleep', input: { durationMs: 200, steps: 1 } });
    await assign(worker, barrier);
    await startedOf(barrier.workloadId);
    expect(runs.items.some((r) => r.workloadId === a.workloadId)).toBe(false);
  });

  it('sends started for a long run after the delay with its real start time; progress never before it', async () => {
    await using worker = await startWorker();
    const long = assignment({ type: 'sleep', input: { durationMs: 1_200, steps: 1 } });
    // Progress every 10 ms: the first one sends `started` before the delay is over.
    const chatty = assignment({ type: 'sleep', input: { durationMs: 200, steps: 20 } });
    await assign(worker, long, chatty);
    const started = await startedOf(long.workloadId);
    // The id is a UUIDv7 made when the update was published: the delay after the real start.
    const publishedMs = parseInt(started.id.replace(/-/g, '').slice(0, 12), 16);
    expect(publishedMs - Date.parse(started.time)).toBeGreaterThanOrEqual(
      STARTED_REPORT_DELAY_MS - 1,
    );
    // Heartbeats report the same start.
    await waitFor(
      () =>
        beatsOf(worker.workerId).some((h) =>
          h.running.some((r) => r.workloadId === long.workloadId && r.startedAt === started.time),
        ),
      { message: 'a heartbeat listing the run with its start' },
    );
    expect(await completionOf(long.workloadId)).not.toHaveProperty('startedAt');
    expect(await completionOf(chatty.workloadId)).not.toHaveProperty('startedAt');
    const updates = runs.items.filter((r) => r.workloadId === chatty.workloadId);
    expect(updates[0]?.kind).toBe('started');
    expect(updates.filter((u) => u.kind === 'started')).toHaveLength(1);
    expect(updates.slice(1).every((u) => u.kind === 'progress')).toBe(true);
    expect(updates.length).toBeGreaterThanOrEqual(2);
  });

  it('resumes from a restored checkpoint and numbers new checkpoints after it', async () => {
    await using worker = await startWorker();
    const a = assignment({
      type: 'sleep',
      attempt: 2,
      input: { durationMs: 100, steps: 5 },
      checkpoint: { seq: 7, attempt: 1, storage: 'inline', data: { step: 3 } },
    });
    await assign(worker, a);
    expect(await completionOf(a.workloadId)).toMatchObject({
      attempt: 2,
      outcome: 'succeeded',
      result: { steps: 5, resumedFromStep: 3 },
    });
    const cps = checkpoints.items.filter((c) => c.workloadId === a.workloadId);
    expect(cps.map((c) => [c.attempt, c.seq, c.data])).toEqual([
      [2, 8, { step: 4 }],
      [2, 9, { step: 5 }],
    ]);
  });

  it('runs exec: output as log lines and a failed completion with the exit code', async () => {
    await using worker = await startWorker({ WORKER_EXEC_ALLOW: 'sh' });
    const a = assignment({
      type: 'exec',
      input: { command: 'sh', args: ['-c', 'echo hi; exit 3'] },
    });
    await assign(worker, a);
    expect(await completionOf(a.workloadId)).toMatchObject({
      outcome: 'failed',
      error: { code: 'EXIT_CODE_3', retryable: true },
    });
    // Logs are flushed before the completion is published.
    const lines = logs.items.filter((l) => l.workloadId === a.workloadId).flatMap((l) => l.lines);
    expect(lines).toEqual([expect.objectContaining({ stream: 'stdout', line: 'hi' })]);
  });

  it('cancels a running sleep on a stop control and frees the slot', async () => {
    await using worker = await startWorker({ WORKER_SLOTS: '1' });
    const long = assignment({ type: 'sleep', input: { durationMs: 60_000, steps: 600 } });
    const next = assignment({ type: 'noop', input: { n: 1 } });
    await assign(worker, long, next);
    await startedOf(long.workloadId);
    await waitFor(
      () =>
        beatsOf(worker.workerId).some((h) =>
          h.running.some((r) => r.workloadId === long.workloadId),
        ),
      {
        message: 'a heartbeat listing the run',
      },
    );
    // One slot: the noop waits in the queue and is not reported as running.
    expect(runs.items.some((r) => r.workloadId === next.workloadId)).toBe(false);
    const stoppedAt = Date.now();
    await control(worker, {
      action: 'stop',
      workloadId: long.workloadId,
      attempt: 1,
      reason: 'user cancel',
    });
    expect(await completionOf(long.workloadId)).toMatchObject({ outcome: 'cancelled', attempt: 1 });
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    expect(await completionOf(next.workloadId)).toMatchObject({
      outcome: 'succeeded',
      result: { n: 1 },
    });
    await waitFor(() => beatsOf(worker.workerId).at(-1)?.running.length === 0, {
      message: 'a heartbeat with a free slot',
    });
  });

  it('pauses a running sleep on a pause control, and cancels a queued one from the queue', async () => {
    await using worker = await startWorker({ WORKER_SLOTS: '1' });
    const running = assignment({ type: 'sleep', input: { durationMs: 60_000, steps: 600 } });
    const queued = assignment({ type: 'sleep', input: { durationMs: 60_000, steps: 600 } });
    await assign(worker, running, queued);
    await startedOf(running.workloadId);
    await control(worker, { action: 'stop', workloadId: queued.workloadId, attempt: 1 });
    expect(await completionOf(queued.workloadId)).toMatchObject({ outcome: 'cancelled' });
    await control(worker, { action: 'pause', workloadId: running.workloadId, attempt: 1 });
    expect(await completionOf(running.workloadId)).toMatchObject({ outcome: 'paused' });
    expect(runs.items.some((r) => r.workloadId === queued.workloadId)).toBe(false);
  });

  it('abandons a preempted run that ignores its signal after graceMs: hands it back, frees the slot, publishes nothing more of it', async () => {
    await using dir = await tempDir();
    await using worker = await startWorker({
      WORKER_SLOTS: '1',
      WORKLOAD_MODULES: join(__dirname, 'fixtures', 'modules'),
    });
    const doneFile = join(dir.path, 'done.json');
    const stubborn = assignment({ type: 'test.stubborn', input: { runMs: 2500, doneFile } });
    const next = assignment({ type: 'noop', input: { n: 2 } });
    await assign(worker, stubborn, next);
    await startedOf(stubborn.workloadId);
    const orderedAt = Date.now();
    await control(worker, {
      action: 'preempt',
      workloadId: stubborn.workloadId,
      attempt: 1,
      graceMs: 300,
      reason: 'preempted by test',
    });
    expect(await completionOf(stubborn.workloadId)).toMatchObject({
      outcome: 'released',
      attempt: 1,
    });
    expect(Date.now() - orderedAt).toBeGreaterThanOrEqual(300);
    // The slot is free while the handler still runs: the queued noop runs before it returns.
    expect(await completionOf(next.workloadId)).toMatchObject({ outcome: 'succeeded' });
    expect(existsSync(doneFile)).toBe(false);

    const done = await waitFor(
      async () =>
        existsSync(doneFile)
          ? (JSON.parse(await readFile(doneFile, 'utf8')) as {
              stored: number[];
              firstRefused: number | null;
            })
          : undefined,
      { timeoutMs: 10_000, message: 'the stubborn handler to return' },
    );
    expect(done.firstRefused).not.toBeNull();
    const refused = done.firstRefused!;
    // Barrier: the worker has published all it will, and the collectors have read it.
    await worker.close();
    for (const [stream, kind] of [
      [STREAMS.checkpoint.name, 'checkpoint'],
      [STREAMS.run.name, 'runUpdate'],
      [STREAMS.logs.name, 'log'],
      [STREAMS.complete.name, 'completionBatch'],
    ] as const) {
      await waitFor(
        async () => {
          const info = await nats.jsm.consumers.info(stream, `test-collector-${kind}`);
          return info.num_pending === 0 && info.num_ack_pending === 0;
        },
        { message: `the ${kind} collector to catch up` },
      );
    }
    const id = stubborn.workloadId;
    expect(completions.completions.filter((c) => c.workloadId === id)).toHaveLength(1);
    expect(checkpoints.items.filter((c) => c.workloadId === id).map((c) => c.seq)).toEqual(
      done.stored.map((_, i) => i + 1),
    );
    expect(Math.max(...done.stored)).toBeLessThan(refused);
    const progress = runs.items.filter((r) => r.workloadId === id && r.kind === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    for (const p of progress) expect(p.progress!.fraction).toBeLessThanOrEqual(refused / 1000);
    const lines = logs.items
      .filter((l) => l.workloadId === id)
      .flatMap((l) => l.lines.map((x) => Number(/step (\d+)/.exec(x.line)?.[1])));
    expect(lines.length).toBeGreaterThan(0);
    for (const n of lines) expect(n).toBeLessThanOrEqual(refused);
  });

  it('abandons a preempted run at once with graceMs 0 (PREEMPTION=immediate)', async () => {
    await using dir = await tempDir();
    await using worker = await startWorker({
      WORKER_SLOTS: '1',
      WORKLOAD_MODULES: join(__dirname, 'fixtures', 'modules'),
    });
    const doneFile = join(dir.path, 'done.json');
    const stubborn = assignment({ type: 'test.stubborn', input: { runMs: 3000, doneFile } });
    const next = assignment({ type: 'noop', input: { n: 3 } });
    await assign(worker, stubborn, next);
    await startedOf(stubborn.workloadId);
    await control(worker, {
      action: 'preempt',
      workloadId: stubborn.workloadId,
      attempt: 1,
      graceMs: 0,
    });
    expect(await completionOf(stubborn.workloadId)).toMatchObject({ outcome: 'released' });
    expect(await completionOf(next.workloadId)).toMatchObject({ outcome: 'succeeded' });
    expect(existsSync(doneFile)).toBe(false);
  });

  it('fails a run past its timeoutSeconds with TIMEOUT, retryable', async () => {
    await using worker = await startWorker();
    const a = assignment({ type: 'sleep', input: { durationMs: 60_000 }, timeoutSeconds: 1 });
    await assign(worker, a);
    expect(await completionOf(a.workloadId)).toMatchObject({
      outcome: 'failed',
      error: { code: 'TIMEOUT', retryable: true },
    });
  });

  it('never runs more than WORKER_SLOTS at once', async () => {
    const slots = 2;
    await using worker = await startWorker({ WORKER_SLOTS: String(slots) });
    const all = Array.from({ length: slots + 3 }, () =>
      assignment({ type: 'sleep', input: { durationMs: 150, steps: 3 } }),
    );
    await assign(worker, ...all);
    const ids = new Set(all.map((a) => a.workloadId));
    await waitFor(
      () => completions.completions.filter((c) => ids.has(c.workloadId)).length === all.length,
      {
        message: 'every completion',
      },
    );
    const done = completions.completions.filter((c) => ids.has(c.workloadId));
    expect(done.every((c) => c.outcome === 'succeeded')).toBe(true);
    // A slot is freed only after its completion is published, so a start never precedes the
    // completion that made room for it: replaying both by time (completions first on ties)
    // gives the exact concurrency.
    const events = [
      ...runs.items
        .filter((r) => ids.has(r.workloadId) && r.kind === 'started')
        .map((r) => ({ t: Date.parse(r.time), d: 1 })),
      ...done.map((c) => ({ t: Date.parse(c.time), d: -1 })),
    ].sort((x, y) => x.t - y.t || x.d - y.d);
    expect(events.filter((e) => e.d === 1)).toHaveLength(all.length);
    let current = 0;
    let max = 0;
    for (const e of events) {
      current += e.d;
      max = Math.max(max, current);
    }
    expect(max).toBe(slots);
    expect(Math.max(...beatsOf(worker.workerId).map((h) => h.running.length))).toBeLessThanOrEqual(
      slots,
    );
  });

  it('ignores a duplicate assignment (same workload and attempt)', async () => {
    await using worker = await startWorker();
    const a = assignment({ type: 'sleep', input: { durationMs: 100, steps: 2 } });
    await assign(worker, a, a);
    await assign(worker, a);
    await completionOf(a.workloadId);
    // A later run of the same workload acts as a barrier: everything for `a` is in by then.
    const barrier = assignment({ type: 'noop', input: {} });
    await assign(worker, barrier);
    await completionOf(barrier.workloadId);
    expect(
      runs.items.filter((r) => r.workloadId === a.workloadId && r.kind === 'started'),
    ).toHaveLength(1);
    expect(completions.completions.filter((c) => c.workloadId === a.workloadId)).toHaveLength(1);
  });

  it('fails an assignment of an unknown type with UNKNOWN_TYPE, retryable', async () => {
    await using worker = await startWorker();
    const a = assignment({ type: 'transcode', input: {} });
    await assign(worker, a);
    const done = await completionOf(a.workloadId);
    expect(done).toMatchObject({
      outcome: 'failed',
      workerId: worker.workerId,
      error: { code: 'UNKNOWN_TYPE', retryable: true },
    });
    expect(done.error?.message).toContain('"transcode"');
    expect(runs.items.some((r) => r.workloadId === a.workloadId)).toBe(false);
  });

  it('hands queued and running work back as released on dispose; the last heartbeat says STOPPED', async () => {
    const worker = await startWorker({ WORKER_SLOTS: '1', DRAIN_TIMEOUT_MS: '300' });
    const running = assignment({ type: 'sleep', input: { durationMs: 60_000, steps: 600 } });
    const queued = [1, 2].map(() =>
      assignment({ type: 'sleep', input: { durationMs: 60_000, steps: 600 } }),
    );
    await assign(worker, running, ...queued);
    await startedOf(running.workloadId);
    await worker[Symbol.asyncDispose]();
    await worker.close(); // idempotent
    for (const a of [running, ...queued]) {
      expect(await completionOf(a.workloadId)).toMatchObject({ outcome: 'released', attempt: 1 });
    }
    for (const a of queued)
      expect(runs.items.some((r) => r.workloadId === a.workloadId)).toBe(false);
    const beats = await waitFor(
      () => {
        const b = beatsOf(worker.workerId);
        return b.at(-1)?.status === 'STOPPED' ? b : undefined;
      },
      { message: 'the STOPPED heartbeat' },
    );
    expect(beats.some((b) => b.status === 'DRAINING')).toBe(true);
    expect(beats.at(-1)?.running).toEqual([]);
  });

  it('lets a running sleep finish within DRAIN_TIMEOUT_MS on dispose', async () => {
    const worker = await startWorker({ DRAIN_TIMEOUT_MS: '5000' });
    const a = assignment({ type: 'sleep', input: { durationMs: 300, steps: 3 } });
    await assign(worker, a);
    await startedOf(a.workloadId);
    await worker.close();
    expect(await completionOf(a.workloadId)).toMatchObject({ outcome: 'succeeded' });
  });

  it('stops taking work on a drain control without exiting', async () => {
    await using worker = await startWorker({ WORKER_SLOTS: '1' });
    const running = assignment({ type: 'sleep', input: { durationMs: 600, steps: 3 } });
    const queued = assignment({ type: 'noop', input: {} });
    await assign(worker, running, queued);
    await startedOf(running.workloadId);
    await control(worker, { action: 'drain', reason: 'scale down' });
    expect(await completionOf(queued.workloadId)).toMatchObject({ outcome: 'released' });
    await waitFor(() => beatsOf(worker.workerId).at(-1)?.status === 'DRAINING', {
      message: 'a DRAINING heartbeat',
    });
    // The running one still finishes normally.
    expect(await completionOf(running.workloadId)).toMatchObject({ outcome: 'succeeded' });
  });

  it('loads WORKLOAD_MODULES; checkpoints a large state through the blob store, a small one inline', async () => {
    const modules = join(__dirname, 'fixtures', 'modules');
    await using blobDir = await tempDir();
    await using worker = await startWorker({ WORKLOAD_MODULES: modules, BLOB_DIR: blobDir.path });
    expect(worker.types).toEqual([
      'noop',
      'sleep',
      'test.big-checkpoint',
      'test.echo-state',
      'test.stubborn',
      'test.unstorable-text',
      'test.wait-signal',
    ]);
    const small = assignment({ type: 'test.big-checkpoint', input: { bytes: 10 } });
    const big = assignment({ type: 'test.big-checkpoint', input: { bytes: 1_000_000 } });
    await assign(worker, small, big);
    for (const a of [small, big])
      expect(await completionOf(a.workloadId)).toMatchObject({ outcome: 'succeeded' });

    const inline = checkpoints.items.find((c) => c.workloadId === small.workloadId);
    expect(inline).toMatchObject({ seq: 1, data: { blob: 'x'.repeat(10) } });
    expect(inline?.blob).toBeUndefined();

    const ref = checkpoints.items.find((c) => c.workloadId === big.workloadId);
    const json = Buffer.from(JSON.stringify({ blob: 'x'.repeat(1_000_000) }));
    expect(ref).toMatchObject({
      seq: 1,
      blob: {
        key: expect.stringMatching(
          new RegExp(`^checkpoints/${big.workloadId}/1-1-[0-9a-f]{8}\\.json$`),
        ),
        size: json.length,
        sha256: createHash('sha256').update(json).digest('hex'),
      },
    });
    expect(ref).not.toHaveProperty('data');
    const store = createFsBlobStore({ dir: blobDir.path });
    expect((await store.get(ref!.blob!.key)).equals(json)).toBe(true);
  });

  it('ends a run at a durable wait: its checkpoint, then a waiting completion naming both; the slot is free; a resumed run replays it', async () => {
    await using worker = await startWorker({
      WORKLOAD_MODULES: join(__dirname, 'fixtures', 'modules'),
      WORKER_SLOTS: '1',
    });
    const first = assignment({ type: 'test.wait-signal', input: {} });
    await assign(worker, first);
    const waiting = await completionOf(first.workloadId);
    const cp = checkpoints.items.find((c) => c.workloadId === first.workloadId);
    expect(cp).toMatchObject({ attempt: 1, seq: 1, data: { asked: true } });
    expect(waiting).toMatchObject({
      attempt: 1,
      outcome: 'waiting',
      wait: { seq: 0, kind: 'signal', signal: 'approve' },
      checkpointSeq: 1,
    });
    // The only slot is free again: the resumed attempt runs on it, answered from the record.
    await assign(worker, {
      ...first,
      attempt: 2,
      checkpoint: { seq: 1, attempt: 1, storage: 'inline', data: { asked: true } },
      waits: [{ seq: 0, kind: 'signal', signal: 'approve', payload: 'yes' }],
    });
    const done = await waitFor(
      () =>
        completions.completions.find((c) => c.workloadId === first.workloadId && c.attempt === 2),
      { timeoutMs: 10_000, message: 'the resumed attempt to complete' },
    );
    expect(done).toMatchObject({ outcome: 'succeeded', result: { approved: 'yes' } });
  });

  it('replaces U+0000 and lone surrogates by U+FFFD in results, logs, progress and checkpoints', async () => {
    await using worker = await startWorker({
      WORKLOAD_MODULES: join(__dirname, 'fixtures', 'modules'),
    });
    const ok = assignment({ type: 'test.unstorable-text', input: {} });
    await assign(worker, ok);
    const clean = 'a\uFFFDb\uFFFDc';
    expect(await completionOf(ok.workloadId)).toMatchObject({
      outcome: 'succeeded',
      result: { text: clean, 'key\uFFFD': 'v', pair: '\ud83d\ude00' },
    });
    const lines = await waitFor(
      () => logs.items.find((l) => l.workloadId === ok.workloadId)?.lines,
      { message: 'the log lines' },
    );
    expect(lines.map((l) => l.line)).toContain(`line ${clean}`);
    expect(
      runs.items.find((r) => r.workloadId === ok.workloadId && r.kind === 'progress')?.progress,
    ).toEqual({ fraction: 0.5, message: `half ${clean}` });
    expect(checkpoints.items.find((c) => c.workloadId === ok.workloadId)?.data).toEqual({
      state: clean,
      'key\uFFFD': 1,
    });
    // afterEach: every message decoded, so PostgreSQL can store each of them.
  });

  it('fails a run whose result is nested deeper than a completion may carry, instead of publishing it', async () => {
    await using worker = await startWorker({
      WORKLOAD_MODULES: join(__dirname, 'fixtures', 'modules'),
    });
    const deep = assignment({ type: 'test.unstorable-text', input: { deep: 70 } });
    await assign(worker, deep);
    expect(await completionOf(deep.workloadId)).toMatchObject({
      outcome: 'failed',
      error: {
        code: 'INVALID_COMPLETION',
        retryable: false,
        message: expect.stringMatching(/nested deeper than/),
      },
    });
  });

  it('announces an assignment it cannot take as a dead letter for the scheduler to record, and runs those batched with it', async () => {
    await using worker = await startWorker({ MAX_DELIVER: '2' });
    const announced: DeadLetterV1[] = [];
    const sub = nats.nc.subscribe(SUBJECTS.dead(STREAMS.assign.name), {
      callback: (_err, m) => {
        const d = decode('deadLetter', m.data);
        if (d.ok) announced.push(d.value);
      },
    });
    await nats.nc.flush();
    const ok = assignment({ type: 'noop', input: 1 });
    const subject = SUBJECTS.assign(worker.workerId);
    const [bad] = await Promise.all([
      nats.js.publish(subject, new Uint8Array([0])),
      assign(worker, ok),
    ]);
    expect(await completionOf(ok.workloadId)).toMatchObject({ outcome: 'succeeded' });
    const { stream, durable_name } = workerConsumers(worker.workerId).assign;
    const note = await waitFor(() => announced.find((a) => a.streamSeq === bad.seq), {
      message: 'the dead letter announced',
    });
    expect(note).toMatchObject({
      stream,
      consumer: durable_name,
      subject,
      data: Buffer.from([0]).toString('base64'),
      recorded: false,
      deliveries: 1,
      error: expect.stringMatching(/^payload is not JSON/),
    });
    await waitFor(
      async () => (await nats.jsm.consumers.info(stream, durable_name)).num_ack_pending === 0,
      { message: 'nothing unacked' },
    );
    sub.unsubscribe();
  });

  it('restores a blob checkpoint before run, and fails the attempt on a corrupt or missing one', async () => {
    const modules = join(__dirname, 'fixtures', 'modules');
    await using blobDir = await tempDir();
    await using worker = await startWorker({ WORKLOAD_MODULES: modules, BLOB_DIR: blobDir.path });
    const store = createFsBlobStore({ dir: blobDir.path });
    const state = { step: 4, blob: 'y'.repeat(500_000) };
    const good = assignment({ type: 'test.echo-state', input: {}, attempt: 2 });
    const stored = await store.put(
      checkpointBlobKey(good.workloadId, 1, 4),
      Buffer.from(JSON.stringify(state)),
    );
    good.checkpoint = { seq: 4, attempt: 1, storage: 'blob', blob: stored };
    const corrupt = assignment({ type: 'test.echo-state', input: {}, attempt: 2 });
    corrupt.checkpoint = {
      seq: 4,
      attempt: 1,
      storage: 'blob',
      blob: { ...stored, sha256: 'f'.repeat(64) },
    };
    const missing = assignment({ type: 'test.echo-state', input: {}, attempt: 2 });
    missing.checkpoint = {
      seq: 1,
      attempt: 1,
      storage: 'blob',
      blob: { ...stored, key: checkpointBlobKey(missing.workloadId, 1, 1) },
    };
    await assign(worker, good, corrupt, missing);

    expect(await completionOf(good.workloadId)).toMatchObject({
      outcome: 'succeeded',
      result: { restored: { step: 4, bytes: 500_000 } },
    });
    const failed = await completionOf(corrupt.workloadId);
    expect(failed).toMatchObject({
      outcome: 'failed',
      error: { code: 'CHECKPOINT_CORRUPT', retryable: true },
    });
    expect(failed.error?.message).toContain(`sha256 ${'f'.repeat(64)} were committed`);
    expect(await completionOf(missing.workloadId)).toMatchObject({
      outcome: 'failed',
      error: { code: 'CHECKPOINT_MISSING', retryable: true },
    });
    // A run that never started: the handler saw no state from scratch.
    expect(
      runs.items.some((r) => r.workloadId === corrupt.workloadId && r.kind === 'started'),
    ).toBe(false);
  });

  it('serves /healthz and /readyz on HEALTH_PORT; not ready once draining', async () => {
    const port = await freePort();
    await using worker = await startWorker({ HEALTH_PORT: String(port) });
    const get = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).status;
    expect(await get('/healthz')).toBe(200);
    expect(await get('/readyz')).toBe(200);
    await worker.drain();
    expect(await get('/readyz')).toBe(503);
    expect(await get('/healthz')).toBe(200);
  });
});
