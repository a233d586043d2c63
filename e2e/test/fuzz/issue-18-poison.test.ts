import { SUBJECTS, envelope, uuidv7 } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { sql } from 'kysely';
import { serviceConsumers, stalledConsumers } from './support/consumers.js';
import { waitForDeadLetter } from './support/dead-letters.js';
import { HEARTBEAT_INTERVAL_MS, startFuzzSystem } from './support/fuzz-system.js';
import type { FuzzSystem } from './support/fuzz-system.js';
import { nestedArrays, toJsonText } from './support/hostile-values.js';
import { expectLive } from './support/liveness.js';
import { forgetMessages, resetConsumer } from './support/quarantine.js';

// Issue 18, item 3: each poison message the issue confirmed, published ahead of 47 ordinary
// workloads. The workloads must all complete, the consumer the poison went to must return to
// nothing un-acked, and the poison must be recorded: a broker submission in
// rejected_submissions, anything else in dead_letters with its error, announced on
// niyanta.dead.<stream>. One system for the file; a poison left behind today is deleted from its
// stream after its test, so that each test fails for its own message only.
jest.setTimeout(120_000);

const WORKERS = ['fzp-a', 'fzp-b'];
const GENUINE = 47;
/** The ordinary workloads complete and the consumer drains within this (loaded machine). */
const SETTLE_MS = 12_000;

let f: FuzzSystem;
/**
 * A real workload, COMPLETED before the tests: completions and run updates name it, since one of
 * a workload the scheduler has not seen yet is rightly held back a while (its row may be about to
 * commit), which would hide whether the poison stalls the consumer.
 */
const realId = uuidv7();

beforeAll(async () => {
  f = await startFuzzSystem({ workers: WORKERS.map((id) => ({ id, slots: 4 })) });
  await f.publish(
    SUBJECTS.submit('default'),
    JSON.stringify({ schemaVersion: 1, id: realId, type: 'noop', input: { real: true } }),
  );
  await f.waitCompleted([realId], 20_000);
}, 120_000);

afterAll(async () => {
  await f?.[Symbol.asyncDispose]();
});

/** How a poison must end up. */
type Fate =
  /** In dead_letters, with its error, announced. */
  | 'dead letter'
  /** In rejected_submissions. */
  | 'rejected'
  /** Handled or refused as the service sees fit; the consumer must not stall on it. */
  | 'handled or refused';

interface Poison {
  name: string;
  subject: string;
  /** The payload (a value becomes JSON text; a string or bytes are sent as they are). */
  payload: unknown;
  msgId?: string;
  stream: string;
  consumer: string;
  fate: Fate;
}

const time = () => new Date().toISOString();
const completion = (fields: Record<string, unknown>) => ({
  ...envelope(),
  workloadId: uuidv7(),
  attempt: 1,
  workerId: 'fzp-gone',
  outcome: 'succeeded',
  result: { ok: true },
  ...fields,
});
const runUpdate = (fields: Record<string, unknown>) => ({
  ...envelope(),
  workloadId: uuidv7(),
  attempt: 1,
  workerId: 'fzp-gone',
  kind: 'started',
  ...fields,
});
const heartbeat = (fields: Record<string, unknown>) => ({
  ...envelope(),
  workerId: 'fzp-fake',
  status: 'ACTIVE',
  capacity: { slots: 1, cpu: 1, memoryMb: 512, gpu: 0 },
  labels: {},
  types: ['fzp-none'],
  running: [],
  startedAt: time(),
  intervalMs: HEARTBEAT_INTERVAL_MS,
  ...fields,
});
const workerDead = (workerId: string) => ({
  ...envelope(),
  workerId,
  lastHeartbeatAt: time(),
  reason: 'fuzz',
});

const COMPLETE = { stream: 'NIYANTA_COMPLETE', consumer: 'scheduler-complete' };
const RUN = { stream: 'NIYANTA_RUN', consumer: 'scheduler-run' };
const HEARTBEAT = { stream: 'NIYANTA_HEARTBEAT', consumer: 'health-monitor-heartbeats' };
const WORKER_DEAD = { stream: 'NIYANTA_WORKER_DEAD', consumer: 'scheduler-worker-dead' };
const SUBMIT = { stream: 'NIYANTA_SUBMIT', consumer: 'scheduler-ingest' };
const NUL_BYTE = new Uint8Array([0]);
const MAX_SAFE = 2 ** 53 - 1;

const anyId = realId;
const POISONS: Poison[] = [
  {
    name: 'a completion whose result contains U+0000',
    subject: SUBJECTS.complete(anyId),
    payload: completion({ workloadId: anyId, result: 'x\u0000y' }),
    ...COMPLETE,
    fate: 'dead letter',
  },
  {
    name: 'a completion whose result contains a lone surrogate',
    subject: SUBJECTS.complete(anyId),
    payload: completion({ workloadId: anyId, result: { text: 'x\ud800' } }),
    ...COMPLETE,
    fate: 'dead letter',
  },
  {
    name: 'a completion whose workerId contains U+0000',
    subject: SUBJECTS.complete(anyId),
    payload: completion({ workloadId: anyId, workerId: 'w\u0000' }),
    ...COMPLETE,
    fate: 'dead letter',
  },
  {
    name: 'a completion whose result is nested 65 deep',
    subject: SUBJECTS.complete(anyId),
    payload: completion({ workloadId: anyId, result: nestedArrays(65) }),
    ...COMPLETE,
    fate: 'handled or refused',
  },
  {
    name: 'a completion with attempt 2^53-1',
    subject: SUBJECTS.complete(anyId),
    payload: completion({ workloadId: anyId, attempt: MAX_SAFE }),
    ...COMPLETE,
    fate: 'dead letter',
  },
  {
    name: 'a completion whose Nats-Msg-Id contains U+0000',
    subject: SUBJECTS.complete(anyId),
    payload: completion({ workloadId: anyId }),
    msgId: `fz\u0000${anyId}`,
    ...COMPLETE,
    fate: 'handled or refused',
  },
  {
    name: 'a run update with attempt 2^53-1',
    subject: SUBJECTS.run(anyId),
    payload: runUpdate({ workloadId: anyId, attempt: MAX_SAFE }),
    ...RUN,
    fate: 'dead letter',
  },
  {
    name: 'a run update whose workerId contains a lone surrogate',
    subject: SUBJECTS.run(anyId),
    payload: runUpdate({ workloadId: anyId, workerId: 'w\udc00' }),
    ...RUN,
    fate: 'dead letter',
  },
  {
    name: 'a heartbeat whose workerId contains U+0000',
    subject: SUBJECTS.heartbeat('fzp-fake'),
    payload: heartbeat({ workerId: 'fzp\u0000fake' }),
    ...HEARTBEAT,
    fate: 'dead letter',
  },
  {
    name: 'a heartbeat whose time is far in the future',
    subject: SUBJECTS.heartbeat('fzp-future'),
    payload: heartbeat({ workerId: 'fzp-future', time: '9999-12-31T23:59:59.999Z' }),
    ...HEARTBEAT,
    fate: 'handled or refused',
  },
  ...[' ', '\t', '*', '.'].map((c): Poison => ({
    name: `a heartbeat whose workerId contains ${JSON.stringify(c)}`,
    subject: SUBJECTS.heartbeat('fzp-fake'),
    payload: heartbeat({ workerId: `fzp${c}fake` }),
    ...HEARTBEAT,
    fate: 'dead letter',
  })),
  {
    name: 'a heartbeat whose workerId is 1 MB long',
    subject: SUBJECTS.heartbeat('fzp-fake'),
    payload: heartbeat({ workerId: 'w'.repeat(1_000_000) }),
    ...HEARTBEAT,
    fate: 'dead letter',
  },
  ...[' ', '*', '.'].map((c): Poison => ({
    name: `a worker-dead message whose workerId contains ${JSON.stringify(c)}`,
    subject: SUBJECTS.workerDead('fzp-fake'),
    payload: workerDead(`fzp${c}fake`),
    ...WORKER_DEAD,
    fate: 'dead letter',
  })),
  {
    name: 'a submission whose input is nested 10,000 deep',
    subject: SUBJECTS.submit('default'),
    payload: { schemaVersion: 1, id: uuidv7(), type: 'noop', input: nestedArrays(10_000) },
    ...SUBMIT,
    fate: 'rejected',
  },
  {
    name: 'a submission whose Nats-Msg-Id contains U+0000',
    subject: SUBJECTS.submit('default'),
    payload: { schemaVersion: 1, id: uuidv7(), type: 'noop', input: {} },
    msgId: `default:\u0000${uuidv7()}`,
    ...SUBMIT,
    fate: 'handled or refused',
  },
  ...(
    [
      [SUBJECTS.submit('default'), SUBMIT, 'rejected'],
      [SUBJECTS.command('default'), { stream: 'NIYANTA_COMMAND', consumer: 'scheduler-commands' }],
      [SUBJECTS.run(anyId), RUN],
      [SUBJECTS.complete(anyId), COMPLETE],
      [SUBJECTS.completions('fzp-gone'), COMPLETE],
      [SUBJECTS.workerDead('fzp-gone'), WORKER_DEAD],
      [SUBJECTS.heartbeat('fzp-gone'), HEARTBEAT],
      [SUBJECTS.checkpoint(anyId), { stream: 'NIYANTA_CHECKPOINT', consumer: 'checkpoint-writer' }],
    ] as const
  ).map(([subject, target, fate]): Poison => ({
    name: `a NUL byte instead of JSON on ${subject.split('.').slice(0, -1).join('.')}.<id>`,
    subject,
    payload: NUL_BYTE,
    ...target,
    fate: fate ?? 'dead letter',
  })),
];

const payloadOf = (p: Poison): Uint8Array | string =>
  p.payload instanceof Uint8Array || typeof p.payload === 'string'
    ? p.payload
    : toJsonText(p.payload);

/** The ordinary workloads complete and the poisoned consumer drains, both within the deadline. */
async function genuineWorkGoesThrough(p: Poison): Promise<void> {
  const ids = await f.submitBatch(
    Array.from({ length: GENUINE }, (_, i) => ({ type: 'noop', input: { genuine: i } })),
  );
  const [completed, stalled] = await Promise.all([
    f.waitCompleted(ids, SETTLE_MS).then(
      () => undefined,
      (err: unknown) => (err as Error).message,
    ),
    stalledConsumers(
      f.jsm,
      serviceConsumers(WORKERS).filter((c) => c.durable === p.consumer),
      SETTLE_MS,
    ),
  ]);
  const problems = [
    ...(completed === undefined ? [] : [completed]),
    ...stalled.map((s) => `consumer stalled: ${s}`),
  ];
  if (problems.length > 0) throw new Error(`after ${p.name}:\n- ${problems.join('\n- ')}`);
}

/** The poison is recorded as its fate says. */
async function recorded(p: Poison, seq: number): Promise<void> {
  if (p.fate === 'dead letter') {
    await waitForDeadLetter(f.sys.db, f.jsm, p.stream, seq, 10_000);
    return;
  }
  if (p.fate === 'rejected') {
    await waitFor(
      async () => {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from rejected_submissions where stream_seq = ${seq}
        `.execute(f.sys.db);
        return rows[0]!.n > 0 ? true : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: `submission ${seq} to be rejected` },
    );
  }
}

describe('issue 18: no message can stop a consumer', () => {
  it.each(POISONS.map((p) => [p.name, p] as const))(
    'completes 47 ordinary workloads published after %s',
    async (_name, p) => {
      const ack = await f.publish(p.subject, payloadOf(p), { msgId: p.msgId });
      let passed = false;
      try {
        await genuineWorkGoesThrough(p);
        await recorded(p, ack.seq);
        passed = true;
      } finally {
        await forgetMessages(f.jsm, p.stream, [ack.seq]);
        if (!passed) await resetConsumer(f.jsm, p.stream, p.consumer);
        // A worker stored from a poison heartbeat today would break every later sweep.
        await f.sys.db.deleteFrom('workers').where('id', 'not in', WORKERS).execute();
      }
    },
  );

  it('stays live after every poison message', async () => {
    await expectLive(f);
  });
});
