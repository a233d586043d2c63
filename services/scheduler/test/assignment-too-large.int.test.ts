import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import type { Database, WorkloadRow } from '@niyanta/db';
import { STREAMS, decode, uuidv7 } from '@niyanta/messages';
import { createLogger } from '@niyanta/runtime';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { ASSIGNMENT_TOO_LARGE, sendAssignments } from '../src/assignments.js';
import { Backlog } from '../src/backlog.js';
import { UsageLedger } from '../src/placement/usage-ledger.js';
import type { Transition } from '../src/workload-core/transition.js';
import { startFakeWorker, startHarness, submission, submit, waitForWorkload } from './harness.js';
import type { Harness } from './harness.js';

/** The broker's max_payload in these tests: small, so that a modest checkpoint passes it. */
const MAX_PAYLOAD = 64 * 1024;
const log = createLogger('assignment-too-large-test', 'silent');

let h: Harness;

beforeAll(async () => {
  h = await startHarness(
    { RETRY_BACKOFF_BASE_MS: '100', RETRY_BACKOFF_MAX_MS: '200' },
    { maxPayload: MAX_PAYLOAD },
  );
});

afterAll(async () => {
  await h?.close();
});

/** An inline checkpoint whose state is `bytes` of JSON text that does not compress. */
async function insertCheckpoint(
  db: Kysely<Database>,
  workloadId: string,
  attempt: number,
  bytes: number,
): Promise<void> {
  const json = JSON.stringify({ blob: randomBytes(bytes / 2).toString('hex') });
  await db
    .insertInto('checkpoints')
    .values({
      workload_id: workloadId,
      seq: 1,
      attempt,
      size: json.length,
      sha256: '0'.repeat(64),
      storage: 'inline',
      data: gzipSync(json),
    })
    .execute();
}

/** A workload row as placement leaves it: SCHEDULED on `workerId` at `attempt`. */
async function insertScheduled(
  db: Kysely<Database>,
  workerId: string,
  attempt: number,
  input: unknown,
): Promise<WorkloadRow> {
  return db
    .insertInto('workloads')
    .values({
      id: uuidv7(),
      tenant: 'default',
      type: 'big',
      status: 'SCHEDULED',
      priority: 500,
      attempt,
      max_attempts: 5,
      worker_id: workerId,
      input: JSON.stringify(input),
      labels: '{}',
      requirements: '{}',
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

describe('an assignment over the broker max_payload', () => {
  it('fails its workload with ASSIGNMENT_TOO_LARGE, with an event, while the rest of the cycle goes out', async () => {
    await using worker = await startFakeWorker(h, { id: 'w-direct', types: ['other'] });
    const resumed = await insertScheduled(h.db, worker.id, 2, { n: 1 });
    await insertCheckpoint(h.db, resumed.id, 1, 2 * MAX_PAYLOAD);
    const bigInput = await insertScheduled(h.db, worker.id, 1, { s: 'x'.repeat(MAX_PAYLOAD) });
    const small = await insertScheduled(h.db, worker.id, 1, { n: 2 });
    const smallResumed = await insertScheduled(h.db, worker.id, 2, { n: 3 });
    await insertCheckpoint(h.db, smallResumed.id, 1, 1000);
    const placed: Transition[] = [resumed, bigInput, small, smallResumed].map((row) => ({
      row,
      from: 'PENDING',
      reason: null,
      eventWorkerId: worker.id,
    }));
    const eventsBefore = (await h.jsm.streams.info(STREAMS.events.name)).state.last_seq;

    await sendAssignments(
      { db: h.db, nc: h.nc, js: h.js, ledger: new UsageLedger(), backlog: new Backlog() },
      placed,
      log,
    );

    await worker.waitForAssignment(small.id, 1);
    const carried = await worker.waitForAssignment(smallResumed.id, 2);
    expect(carried.checkpoint).toEqual(expect.objectContaining({ storage: 'inline', seq: 1 }));
    for (const id of [resumed.id, bigInput.id]) {
      const row = await waitForWorkload(h, id, (r) => r.status === 'FAILED', `${id} FAILED`);
      expect(row.error).toEqual(
        expect.objectContaining({ code: ASSIGNMENT_TOO_LARGE, retryable: false }),
      );
      expect((row.error as { message: string }).message).toMatch(/max_payload/);
      expect(row.finished_at).not.toBeNull();
      const events = await h.db
        .selectFrom('workload_events')
        .select(['from_status', 'to_status', 'reason'])
        .where('workload_id', '=', id)
        .execute();
      expect(events).toEqual([
        expect.objectContaining({
          from_status: 'SCHEDULED',
          to_status: 'FAILED',
          reason: expect.stringMatching(/max_payload/),
        }),
      ]);
    }
    expect(worker.assignments.map((a) => a.workloadId).sort()).toEqual(
      [small.id, smallResumed.id].sort(),
    );
    // The status events of the failures went out (core publishes the events stream stores).
    await h.nc.flush();
    const failedIds = new Set<string>();
    const info = await h.jsm.streams.info(STREAMS.events.name);
    for (let seq = eventsBefore + 1; seq <= info.state.last_seq; seq++) {
      const m = await h.jsm.streams.getMessage(STREAMS.events.name, { seq });
      const d = m === null ? undefined : decode('event', m.data);
      if (d?.ok && d.value.toStatus === 'FAILED') failedIds.add(d.value.workloadId);
    }
    expect(failedIds).toEqual(new Set([resumed.id, bigInput.id]));
  });

  it('fails a retried run that cannot carry its checkpoint once, and placement goes on', async () => {
    await using worker = await startFakeWorker(h, { id: 'w-cycle', types: ['grows'] });
    const s = submission('grows', { maxAttempts: 3 });
    await submit(h, s);
    const first = await worker.waitForAssignment(s.id, 1);
    await insertCheckpoint(h.db, s.id, 1, 2 * MAX_PAYLOAD);
    await worker.complete(first, 'failed', {
      error: { message: 'try again', code: 'EAGAIN', retryable: true },
    });
    const row = await waitForWorkload(
      h,
      s.id,
      (r) => r.status === 'FAILED',
      'the retried run FAILED for its assignment size',
    );
    expect(row.attempt).toBe(2);
    expect(row.error).toEqual(expect.objectContaining({ code: ASSIGNMENT_TOO_LARGE }));
    expect(worker.assignments.filter((a) => a.workloadId === s.id)).toHaveLength(1);

    const next = submission('grows');
    await submit(h, next);
    await worker.waitForAssignment(next.id, 1);
    const { rows } = await sql<{ n: string }>`
      select count(*) as n from workload_events where workload_id = ${s.id} and to_status = 'FAILED'`.execute(
      h.db,
    );
    expect(Number(rows[0]!.n)).toBe(1);
  });
});
