import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  CONSUMERS,
  DEFAULT_TENANT,
  STREAMS,
  SUBJECTS,
  decode,
  envelope,
  publishOne,
  uuidv7,
} from '@niyanta/messages';
import type { DeadLetterV1, RejectedV1 } from '@niyanta/messages';
import { deadLetterAnnouncement } from '@niyanta/runtime';
import { deadLetterRow, waitFor } from '@niyanta/testing';
import {
  startFakeWorker,
  startHarness,
  submission,
  submit,
  waitConsumerDrained,
  waitForWorkload,
  workload,
} from './harness.js';
import type { AssignmentItem, FakeWorker, Harness } from './harness.js';

// Issue 18: one bad message must never hold a consumer. Each poison below is published together
// with ordinary messages: the ordinary ones are applied, the poison ends in dead_letters (with
// its error, byte-exact) and on niyanta.dead.<stream>, and the consumer has nothing left unacked.

jest.setTimeout(60_000);

let h: Harness;
let worker: FakeWorker;
const announced: DeadLetterV1[] = [];
const rejected: RejectedV1[] = [];

beforeAll(async () => {
  h = await startHarness({ MAX_DELIVER: '2' });
  worker = await startFakeWorker(h, { id: 'poison-w', types: ['poison'], capacity: { slots: 64 } });
  h.nc.subscribe(SUBJECTS.deadAll, {
    callback: (_err, m) => {
      const d = decode('deadLetter', m.data);
      if (d.ok) announced.push(d.value);
    },
  });
  h.nc.subscribe(SUBJECTS.rejected, {
    callback: (_err, m) => {
      const d = decode('rejected', m.data);
      if (d.ok) rejected.push(d.value);
    },
  });
  await h.nc.flush();
});

afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

/** Deep JSON text (JSON.stringify itself would run out of stack on some of these). */
const nestedText = (levels: number) => '['.repeat(levels) + '1' + ']'.repeat(levels);

/** `count` workloads placed on the fake worker: their assignments. */
async function placed(count: number): Promise<AssignmentItem[]> {
  const items = Array.from({ length: count }, () => submission('poison'));
  for (const s of items) await submit(h, s);
  return Promise.all(items.map((s) => worker.waitForAssignment(s.id)));
}

/** Publishes the messages at once (so that they are consumed together); their stream sequences. */
async function publishTogether(
  messages: { subject: string; data: Uint8Array; msgId?: string }[],
): Promise<number[]> {
  const acks = await Promise.all(
    messages.map((m) => {
      const hdrs = natsHeaders();
      hdrs.set('Nats-Msg-Id', m.msgId ?? uuidv7());
      return h.js.publish(m.subject, m.data, { headers: hdrs });
    }),
  );
  return acks.map((a) => a.seq);
}

/** Waits for the dead letter of stream message `seq` and its announcement; checks both. */
async function expectDeadLetter(
  consumer: keyof typeof CONSUMERS,
  seq: number,
  data: Uint8Array,
  error: RegExp,
): Promise<void> {
  const { stream, durable_name } = CONSUMERS[consumer];
  const row = await deadLetterRow(h.db, durable_name, seq, 15_000);
  expect(row).toMatchObject({ stream, deliveries: 1 });
  expect(row.error).toMatch(error);
  expect(Buffer.from(row.data).equals(Buffer.from(data))).toBe(true);
  const note = await waitFor(
    () => announced.find((a) => a.consumer === durable_name && a.streamSeq === seq),
    { message: `the announcement of ${durable_name} message ${seq}` },
  );
  expect(note).toMatchObject({ stream, recorded: true, size: data.length });
  await waitConsumerDrained(h, consumer);
}

describe('scheduler-complete', () => {
  const completion = (a: AssignmentItem, over: Record<string, unknown> = {}) => ({
    ...envelope(),
    workloadId: a.workloadId,
    attempt: a.attempt,
    workerId: worker.id,
    outcome: 'succeeded',
    result: { ok: true },
    ...over,
  });
  const cases: [string, (a: AssignmentItem) => Uint8Array, RegExp][] = [
    [
      'a U+0000 result',
      (a) => bytes(completion(a, { result: 'x\u0000y' })),
      /\/result must not contain the character U\+0000/,
    ],
    [
      'a lone surrogate',
      (a) => bytes(completion(a, { result: { s: 'x\ud800' } })),
      /\/result\/s must not contain a lone/,
    ],
    [
      'a workerId with U+0000',
      (a) => bytes(completion(a, { workerId: 'w\u0000' })),
      /\/workerId must not contain/,
    ],
    [
      'a result nested 65 deep',
      (a) =>
        bytes(JSON.stringify(completion(a, { result: 'DEEP' })).replace('"DEEP"', nestedText(65))),
      /nested deeper than 64 levels/,
    ],
    [
      'an attempt of 2^53-1',
      (a) => bytes(completion(a, { attempt: 2 ** 53 - 1 })),
      /\/attempt must be <= 2147483647/,
    ],
    [
      'a far-future time',
      (a) => bytes(completion(a, { time: '9999-12-31T23:59:59-15:59' })),
      /\/time must match/,
    ],
    [
      'a worker id with a space',
      (a) => bytes(completion(a, { workerId: 'poison w' })),
      /\/workerId must match pattern/,
    ],
    [
      'a worker id with a tab',
      (a) => bytes(completion(a, { workerId: 'poison\tw' })),
      /\/workerId must match pattern/,
    ],
    [
      'a worker id with *',
      (a) => bytes(completion(a, { workerId: 'poison*' })),
      /\/workerId must match pattern/,
    ],
    [
      'a worker id with .',
      (a) => bytes(completion(a, { workerId: 'niyanta.assign.x' })),
      /\/workerId must match pattern/,
    ],
    [
      'a 1 MB worker id',
      (a) => bytes(completion(a, { workerId: 'w'.repeat(1_000_000) })),
      /\/workerId must match pattern/,
    ],
    ['a NUL byte instead of JSON', () => new Uint8Array([0]), /^payload is not JSON/],
  ];

  it.each(cases)(
    'applies the completions batched with one carrying %s, which is a dead letter',
    async (_name, poison, error) => {
      const [target, ...ordinary] = await placed(4);
      const data = poison(target!);
      const [seq] = await publishTogether([
        { subject: SUBJECTS.complete(target!.workloadId), data },
        ...ordinary.map((a) => ({
          subject: SUBJECTS.complete(a.workloadId),
          data: bytes(completion(a)),
        })),
      ]);
      for (const a of ordinary)
        await waitForWorkload(
          h,
          a.workloadId,
          (r) => r.status === 'COMPLETED',
          'an ordinary completion applied',
        );
      await expectDeadLetter('schedulerComplete', seq!, data, error);
    },
  );

  it('applies the completions of a batch message next to a batch message with a poison item', async () => {
    const [target, ...ordinary] = await placed(3);
    const batch = (items: unknown[]) =>
      bytes({ ...envelope(), workerId: worker.id, completions: items });
    const item = (a: AssignmentItem, over: Record<string, unknown> = {}) => ({
      workloadId: a.workloadId,
      attempt: a.attempt,
      outcome: 'succeeded',
      ...over,
    });
    const data = batch([item(target!, { result: 'x\u0000' })]);
    const [seq] = await publishTogether([
      { subject: SUBJECTS.completions(worker.id), data },
      { subject: SUBJECTS.completions(worker.id), data: batch(ordinary.map((a) => item(a))) },
    ]);
    for (const a of ordinary)
      await waitForWorkload(
        h,
        a.workloadId,
        (r) => r.status === 'COMPLETED',
        'an ordinary completion applied',
      );
    await expectDeadLetter(
      'schedulerComplete',
      seq!,
      data,
      /\/completions\/0\/result must not contain/,
    );
  });
});

describe('scheduler-run', () => {
  const started = (a: AssignmentItem, over: Record<string, unknown> = {}) => ({
    ...envelope(),
    workloadId: a.workloadId,
    attempt: a.attempt,
    workerId: worker.id,
    kind: 'started',
    ...over,
  });
  it.each([
    ['a worker id with a space', { workerId: 'poison w' }, /\/workerId must match pattern/],
    ['an attempt of 2^53-1', { attempt: 2 ** 53 - 1 }, /\/attempt must be <= 2147483647/],
    ['a far-future time', { time: '9999-12-31T23:59:59-15:59' }, /\/time must match/],
    [
      'a U+0000 progress message',
      { kind: 'progress', progress: { fraction: 0.5, message: 'x\u0000' } },
      /\/progress\/message must not contain/,
    ],
  ])(
    'starts the runs batched with an update carrying %s, which is a dead letter',
    async (_name, over, error) => {
      const [target, ...ordinary] = await placed(3);
      const data = bytes(started(target!, over));
      const [seq] = await publishTogether([
        { subject: SUBJECTS.run(target!.workloadId), data },
        ...ordinary.map((a) => ({ subject: SUBJECTS.run(a.workloadId), data: bytes(started(a)) })),
      ]);
      for (const a of ordinary)
        await waitForWorkload(
          h,
          a.workloadId,
          (r) => r.status === 'RUNNING',
          'an ordinary run started',
        );
      await expectDeadLetter('schedulerRun', seq!, data, error);
    },
  );
});

describe('scheduler-worker-dead', () => {
  const dead = (workerId: string, over: Record<string, unknown> = {}) => ({
    ...envelope(),
    workerId,
    lastHeartbeatAt: new Date().toISOString(),
    reason: 'test',
    ...over,
  });
  it.each([
    ['a worker id with .', dead('niyanta.assign.x'), /\/workerId must match pattern/],
    ['a worker id with U+0000', dead('w\u0000'), /\/workerId must not contain/],
    ['a 1 MB worker id', dead('w'.repeat(1_000_000)), /\/workerId must match pattern/],
    [
      'a lost attempt of 2^53-1',
      dead('poison-w', { attempts: [{ workloadId: uuidv7(), attempt: 2 ** 53 - 1 }] }),
      /\/attempts\/0\/attempt must be <= 2147483647/,
    ],
  ])(
    'sends back the runs of a dead worker announced with %s, which is a dead letter',
    async (_name, poison, error) => {
      const id = `dead-${uuidv7().slice(-8)}`;
      const doomed = await startFakeWorker(h, { id, types: ['poison-dead'] });
      const s = submission('poison-dead');
      await submit(h, s);
      await doomed.waitForAssignment(s.id);
      await doomed.stop();
      const data = bytes(poison);
      const [seq] = await publishTogether([
        { subject: SUBJECTS.workerDead('x'), data },
        { subject: SUBJECTS.workerDead(id), data: bytes(dead(id)) },
      ]);
      await waitForWorkload(
        h,
        s.id,
        (r) => r.attempt === 1 && r.status === 'PENDING',
        'the run back to PENDING',
      );
      await expectDeadLetter('schedulerWorkerDead', seq!, data, error);
    },
  );
});

describe('scheduler-commands', () => {
  it('cancels the workload of an ordinary command batched with a NUL byte instead of JSON', async () => {
    const s = submission('poison-unplaceable');
    await submit(h, s);
    await waitForWorkload(h, s.id, (r) => r.status === 'PENDING', 'the workload PENDING');
    const data = new Uint8Array([0]);
    const cancel = { ...envelope(), workloadId: s.id, command: 'cancel' };
    const [seq] = await publishTogether([
      { subject: SUBJECTS.command(DEFAULT_TENANT), data },
      { subject: SUBJECTS.command(DEFAULT_TENANT), data: bytes(cancel) },
    ]);
    await waitForWorkload(h, s.id, (r) => r.status === 'CANCELLED', 'the workload CANCELLED');
    await expectDeadLetter('schedulerCommands', seq!, data, /^payload is not JSON/);
    const row = await h.db
      .selectFrom('dead_letters')
      .select('tenant')
      .where('stream_seq', '=', seq!)
      .where('consumer', '=', CONSUMERS.schedulerCommands.durable_name)
      .executeTakeFirstOrThrow();
    expect(row.tenant).toBe(DEFAULT_TENANT);
  });
});

describe('scheduler-ingest', () => {
  // Submissions go to rejected_submissions and niyanta.rejected, not to dead_letters.
  const poisonId = uuidv7();
  const rawSubmission = (input: string) =>
    bytes(`{"schemaVersion":1,"id":"${poisonId}","type":"poison-ingest","input":${input}}`);
  it.each([
    [
      'an input nested 10,000 deep',
      rawSubmission(nestedText(10_000)),
      undefined,
      /\/input(\/0)+ is nested deeper than 64 levels/,
    ],
    ['a NUL byte instead of JSON', new Uint8Array([0]), undefined, /^payload is not JSON/],
    ['a lone surrogate', rawSubmission('"x\\ud800"'), undefined, /\/input must not contain a lone/],
    // Only the header holds the NUL: the record of the rejection must store it.
    [
      'a Nats-Msg-Id with NUL',
      bytes({ schemaVersion: 1, id: poisonId, input: 1 }),
      `m-\u0000-${uuidv7()}`,
      /^invalid submission: \/type is required/,
    ],
  ])(
    'ingests the submissions batched with one carrying %s, which is rejected and never runs',
    async (_name, data, msgId, reason) => {
      const ordinary = Array.from({ length: 3 }, () => submission('poison-ingest'));
      const [seq] = await publishTogether([
        {
          subject: SUBJECTS.submit(DEFAULT_TENANT),
          data,
          ...(msgId === undefined ? {} : { msgId }),
        },
        ...ordinary.map((s) => ({ subject: SUBJECTS.submit(DEFAULT_TENANT), data: bytes(s) })),
      ]);
      for (const s of ordinary)
        await waitForWorkload(h, s.id, () => true, 'an ordinary submission ingested');
      const row = await waitFor(
        () =>
          h.db
            .selectFrom('rejected_submissions')
            .selectAll()
            .where('stream_seq', '=', seq!)
            .executeTakeFirst(),
        { message: 'the rejected submission recorded' },
      );
      expect(row.reason).toMatch(reason);
      expect(row.reason).not.toContain('\u0000');
      if (msgId !== undefined) expect(row.msg_id).toBe(msgId.replace('\u0000', '\\u0000'));
      await waitFor(() => rejected.some((r) => r.streamSeq === seq), {
        message: 'niyanta.rejected',
      });
      await waitConsumerDrained(h, 'schedulerIngest');
      expect(await workload(h, poisonId)).toBeUndefined();
    },
  );
});

describe('scheduler-dead-letters', () => {
  it("records the worker's dead letters from their announcements, and only those", async () => {
    const letter = {
      stream: STREAMS.assign.name,
      consumer: 'worker-assign-some-worker',
      subject: SUBJECTS.assign('some-worker'),
      streamSeq: 42,
      msgId: null,
      tenant: null,
      headers: { 'Nats-Msg-Id': ['m-1'] },
      data: new Uint8Array([0, 1, 2]),
      error: 'payload is not JSON',
      deliveries: 1,
    };
    await publishOne(h.js, deadLetterAnnouncement(letter, false));
    // Recorded already by its consumer: not written again.
    await publishOne(h.js, deadLetterAnnouncement({ ...letter, consumer: 'elsewhere' }, true));
    const row = await waitFor(
      () =>
        h.db
          .selectFrom('dead_letters')
          .selectAll()
          .where('consumer', '=', letter.consumer)
          .executeTakeFirst(),
      { message: "the worker's dead letter" },
    );
    expect(row).toMatchObject({
      stream: STREAMS.assign.name,
      stream_seq: '42',
      headers: { 'Nats-Msg-Id': ['m-1'] },
      error: 'payload is not JSON',
      deliveries: 1,
    });
    expect(Buffer.from(row.data)).toEqual(Buffer.from([0, 1, 2]));
    await waitConsumerDrained(h, 'schedulerDeadLetters');
    expect(
      await h.db
        .selectFrom('dead_letters')
        .select('id')
        .where('consumer', '=', 'elsewhere')
        .execute(),
    ).toEqual([]);
  });
});
