import { gzipSync } from 'node:zlib';
import { DEFAULT_TENANT, SUBJECTS, envelope, publishOne } from '@niyanta/messages';
import type { CommandV1, WaitSpec } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { sql } from 'kysely';
import { wakeResolved } from '../src/workload-core/statements/wake-waits.js';
import { inRolledBack } from './rolled-back.js';
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

jest.setTimeout(60_000);

let h: Harness;
let worker: FakeWorker;
const TYPE = 'waits-test';

beforeAll(async () => {
  h = await startHarness({ WAIT_TICK_MS: '50' });
  worker = await startFakeWorker(h, { id: 'waits-worker', types: [TYPE], capacity: { slots: 8 } });
});

afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

const events = (id: string) =>
  h.db
    .selectFrom('workload_events')
    .select(['from_status', 'to_status', 'attempt', 'reason'])
    .where('workload_id', '=', id)
    .orderBy('id')
    .execute();

const command = (workloadId: string, cmd: CommandV1['command'], extra: Partial<CommandV1> = {}) =>
  publishOne(h.js, {
    kind: 'command',
    subject: SUBJECTS.command(DEFAULT_TENANT),
    message: { ...envelope(), workloadId, command: cmd, ...extra },
  });

const signal = (workloadId: string, name: string, payload: unknown) =>
  command(workloadId, 'signal', { signal: { name, payload } });

/** Whether one wake round, run in a transaction that is rolled back, would wake `id`. */
async function wakeRoundWakes(id: string): Promise<boolean> {
  return inRolledBack(
    h.db,
    async (trx) => (await wakeResolved(trx, { ids: [id], limit: 10 })).length > 0,
  );
}

/** Submits a workload and waits for its first assignment, reported started. */
async function running(): Promise<AssignmentItem> {
  const s = submission(TYPE);
  await submit(h, s);
  const a = await worker.waitForAssignment(s.id, 1);
  await worker.started(a);
  await waitForWorkload(h, s.id, (r) => r.status === 'RUNNING', 'RUNNING');
  return a;
}

const wait = (a: AssignmentItem, spec: WaitSpec, checkpointSeq?: number) =>
  worker.complete(a, 'waiting', {
    wait: spec,
    ...(checkpointSeq === undefined ? {} : { checkpointSeq }),
  });

const waitRows = (id: string) =>
  sql<{ seq: number; kind: string; attempt: number; resolved_at: Date | null; outcome: unknown }>`
    select seq, kind, attempt, resolved_at, outcome from workload_waits
    where workload_id = ${id} order by seq`
    .execute(h.db)
    .then((r) => r.rows);

describe('durable waits', () => {
  it('a signal wait makes the workload WAITING, holding no worker, until its signal wakes it at a new attempt', async () => {
    const a = await running();
    await wait(a, { seq: 0, kind: 'signal', signal: 'approve' });
    const waiting = await waitForWorkload(
      h,
      a.workloadId,
      (r) => r.status === 'WAITING',
      'WAITING',
    );
    expect(waiting).toMatchObject({ worker_id: null, attempt: 1, max_attempts: 3 });
    expect(await waitRows(a.workloadId)).toEqual([
      expect.objectContaining({ seq: 0, kind: 'signal', attempt: 1, resolved_at: null }),
    ]);

    await signal(a.workloadId, 'approve', { by: 'ann' });
    const resumed = await worker.waitForAssignment(a.workloadId, 2);
    expect(resumed.waits).toEqual([
      { seq: 0, kind: 'signal', signal: 'approve', payload: { by: 'ann' } },
    ]);
    // The wait used up no retry: max_attempts rose with the new attempt.
    expect(await workload(h, a.workloadId)).toMatchObject({ attempt: 2, max_attempts: 4 });
    await worker.started(resumed);
    await worker.complete(resumed, 'succeeded', { result: { by: 'ann' } });
    await waitForWorkload(h, a.workloadId, (r) => r.status === 'COMPLETED', 'COMPLETED');
    const transitions = (await events(a.workloadId)).map((e) => `${e.from_status}>${e.to_status}`);
    expect(transitions).toEqual(expect.arrayContaining(['RUNNING>WAITING', 'WAITING>PENDING']));
  });

  it('keeps a signal sent before the wait: the wait takes it and does not wait at all', async () => {
    const a = await running();
    await signal(a.workloadId, 'approve', 'early');
    await waitConsumerDrained(h, 'schedulerCommands');
    await wait(a, { seq: 0, kind: 'signal', signal: 'approve' });
    const resumed = await worker.waitForAssignment(a.workloadId, 2);
    expect(resumed.waits).toEqual([
      { seq: 0, kind: 'signal', signal: 'approve', payload: 'early' },
    ]);
    // One signal answers one wait: a second wait for the same name waits.
    await worker.started(resumed);
    await wait(resumed, { seq: 1, kind: 'signal', signal: 'approve' });
    await waitForWorkload(
      h,
      a.workloadId,
      (r) => r.status === 'WAITING' && r.attempt === 2,
      'WAITING at attempt 2',
    );
  });

  it('wakes a sleep by time, from the rows the leader scans', async () => {
    const a = await running();
    const before = Date.now();
    await wait(a, { seq: 0, kind: 'sleep', durationMs: 400 });
    await waitForWorkload(h, a.workloadId, (r) => r.status === 'WAITING', 'WAITING');
    const resumed = await worker.waitForAssignment(a.workloadId, 2);
    expect(Date.now() - before).toBeGreaterThanOrEqual(400);
    expect(resumed.waits).toEqual([{ seq: 0, kind: 'sleep' }]);
  });

  it('ends a signal wait by its timeout', async () => {
    const a = await running();
    await wait(a, { seq: 0, kind: 'signal', signal: 'never', timeoutMs: 100 });
    const resumed = await worker.waitForAssignment(a.workloadId, 2);
    expect(resumed.waits).toEqual([{ seq: 0, kind: 'signal', signal: 'never', timedOut: true }]);
  });

  it('wakes only once the checkpoint the run reported is stored', async () => {
    const a = await running();
    await signal(a.workloadId, 'go', 1);
    await waitConsumerDrained(h, 'schedulerCommands');
    await wait(a, { seq: 0, kind: 'signal', signal: 'go' }, 0);
    await waitForWorkload(h, a.workloadId, (r) => r.status === 'WAITING', 'WAITING');
    // Resolved but asleep: its checkpoint is not stored yet.
    await waitFor(async () => (await waitRows(a.workloadId))[0]?.resolved_at != null, {
      timeoutMs: 5_000,
      message: 'the wait resolved',
    });
    // A wake round run now (rolled back) leaves it asleep, as the leader's rounds do.
    expect(await wakeRoundWakes(a.workloadId)).toBe(false);
    expect((await workload(h, a.workloadId))?.status).toBe('WAITING');
    await h.db
      .insertInto('checkpoints')
      .values({
        workload_id: a.workloadId,
        attempt: 1,
        seq: 0,
        storage: 'inline',
        data: gzipSync(Buffer.from('{}')),
        size: 2,
        sha256: '0'.repeat(64),
      } as never)
      .execute();
    await worker.waitForAssignment(a.workloadId, 2);
  });

  it('cancels a WAITING workload at once', async () => {
    const a = await running();
    await wait(a, { seq: 0, kind: 'signal', signal: 'approve' });
    await waitForWorkload(h, a.workloadId, (r) => r.status === 'WAITING', 'WAITING');
    await command(a.workloadId, 'cancel');
    const row = await waitForWorkload(
      h,
      a.workloadId,
      (r) => r.status === 'CANCELLED',
      'CANCELLED',
    );
    expect(row.finished_at).not.toBeNull();
    // A late signal changes nothing.
    await signal(a.workloadId, 'approve', null);
    await waitConsumerDrained(h, 'schedulerCommands');
    expect((await workload(h, a.workloadId))?.status).toBe('CANCELLED');
  });

  it('pauses a WAITING workload; resumed, it replays into its wait, answered if the signal came meanwhile', async () => {
    const a = await running();
    await wait(a, { seq: 0, kind: 'signal', signal: 'approve' });
    await waitForWorkload(h, a.workloadId, (r) => r.status === 'WAITING', 'WAITING');
    await command(a.workloadId, 'pause');
    await waitForWorkload(h, a.workloadId, (r) => r.status === 'PAUSED', 'PAUSED');
    await signal(a.workloadId, 'approve', 'while paused');
    await waitConsumerDrained(h, 'schedulerCommands');
    expect((await workload(h, a.workloadId))?.status).toBe('PAUSED');
    await command(a.workloadId, 'resume');
    const resumed = await worker.waitForAssignment(a.workloadId, 2);
    expect(resumed.waits).toEqual([
      { seq: 0, kind: 'signal', signal: 'approve', payload: 'while paused' },
    ]);
  });

  it('holds the place of a WAITING workload in an ordered concurrency key', async () => {
    const keyed = { concurrencyKey: 'waits-ordered', concurrencyLimit: 1, ordered: true };
    const first = submission(TYPE, keyed);
    await submit(h, first);
    const a = await worker.waitForAssignment(first.id, 1);
    await worker.started(a);
    await wait(a, { seq: 0, kind: 'signal', signal: 'go' });
    await waitForWorkload(h, first.id, (r) => r.status === 'WAITING', 'WAITING');
    const second = submission(TYPE, keyed);
    await submit(h, second);
    const queued = await waitForWorkload(
      h,
      second.id,
      (r) => r.pending_reason?.includes(first.id) === true,
      'the second waiting for the first',
    );
    expect(queued.status).toBe('PENDING');
    await signal(first.id, 'go', null);
    const resumed = await worker.waitForAssignment(first.id, 2);
    await worker.complete(resumed, 'succeeded', { result: null });
    await worker.waitForAssignment(second.id, 1);
  });

  it('fences a waiting completion: an old attempt records no wait', async () => {
    const a = await running();
    await wait(a, { seq: 0, kind: 'sleep', durationMs: 50 });
    const resumed = await worker.waitForAssignment(a.workloadId, 2);
    await worker.started(resumed);
    // The first attempt reports a wait again (a zombie): discarded.
    await wait(a, { seq: 1, kind: 'signal', signal: 'zombie' });
    await waitConsumerDrained(h, 'schedulerComplete');
    expect(await workload(h, a.workloadId)).toMatchObject({ status: 'RUNNING', attempt: 2 });
    expect((await waitRows(a.workloadId)).map((w) => w.seq)).toEqual([0]);
  });
});
