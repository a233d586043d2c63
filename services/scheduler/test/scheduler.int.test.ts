import { gzipSync } from 'node:zlib';
import {
  CONSUMERS,
  DEFAULT_TENANT,
  INGEST_NOTIFY_HEADER,
  STREAMS,
  SUBJECTS,
  changesOf,
  decode,
  envelope,
  publishAll,
  publishOne,
  uuidv7,
  validateHttp,
  workerConsumers,
} from '@niyanta/messages';
import type {
  IngestedV1,
  RejectedV1,
  StatusChange,
  WorkerDeadV1,
  WorkloadV1,
} from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { applyChanges } from '../src/workload-core/statements/apply-changes.js';
import {
  startFakeWorker,
  startHarness,
  submission,
  submit,
  waitConsumerDrained,
  waitForWorkload,
  workload,
} from './harness.js';
import type { Harness } from './harness.js';

jest.setTimeout(60_000);

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ RETRY_BACKOFF_BASE_MS: '300', RETRY_BACKOFF_MAX_MS: '600' });
});

afterAll(async () => {
  await h?.close();
});

const events = (id: string) =>
  h.db
    .selectFrom('workload_events')
    .select(['from_status', 'to_status', 'attempt', 'reason', 'worker_id', 'at'])
    .where('workload_id', '=', id)
    .orderBy('id')
    .execute();

describe('ingest', () => {
  it('stores submissions published over the broker exactly once, with a submitted event', async () => {
    const items = Array.from({ length: 5 }, () =>
      submission('ingest-basic', { priority: 700, labels: { team: 'a' } }),
    );
    const traceparent = '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01';
    await publishAll(
      h.js,
      items.map((s) => ({
        kind: 'submission' as const,
        subject: SUBJECTS.submit(DEFAULT_TENANT),
        message: s,
        traceparent,
      })),
    );
    for (const s of items) {
      const row = await waitForWorkload(
        h,
        s.id,
        (r) => r.status !== undefined,
        `workload ${s.id} in PostgreSQL`,
      );
      expect(row).toMatchObject({
        tenant: 'default',
        type: 'ingest-basic',
        priority: 700,
        max_attempts: 3,
        attempt: 0,
        labels: { team: 'a' },
      });
      expect(row.trace_parent).toMatch(/^00-0123456789abcdef0123456789abcdef-/);
      expect(await events(s.id)).toEqual([
        expect.objectContaining({
          from_status: null,
          to_status: 'PENDING',
          attempt: 0,
          reason: 'submitted',
        }),
      ]);
    }
  });

  it('keeps one workload for the same Nats-Msg-Id twice and for one idempotency key under two ids', async () => {
    const s = submission('ingest-dedupe');
    expect((await submit(h, s)).duplicate).toBe(false);
    expect((await submit(h, s)).duplicate).toBe(true);
    // Different message ids get past the broker: PostgreSQL's unique (tenant, key) keeps one.
    const first = submission('ingest-dedupe', { idempotencyKey: 'key-1' });
    const second = submission('ingest-dedupe', { idempotencyKey: 'key-1' });
    await submit(h, first, DEFAULT_TENANT, `m-${first.id}`);
    await submit(h, second, DEFAULT_TENANT, `m-${second.id}`);
    // The same id again under a new message id: the primary key keeps one.
    await submit(h, s, DEFAULT_TENANT, `again-${s.id}`);
    await waitConsumerDrained(h, 'schedulerIngest');
    const rows = await h.db
      .selectFrom('workloads')
      .select(['id', 'idempotency_key'])
      .where('type', '=', 'ingest-dedupe')
      .execute();
    expect(rows.map((r) => r.id).sort()).toEqual([s.id, first.id].sort());
    expect(await events(s.id)).toHaveLength(1);
  });

  it('ingests a batch of 1,000 submissions', async () => {
    const items = Array.from({ length: 1000 }, () => submission('ingest-bulk'));
    await publishAll(
      h.js,
      items.map((s) => ({
        kind: 'submission' as const,
        subject: SUBJECTS.submit(DEFAULT_TENANT),
        message: s,
      })),
    );
    await waitFor(
      async () => {
        const r = await h.db
          .selectFrom('workloads')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('type', '=', 'ingest-bulk')
          .executeTakeFirstOrThrow();
        return Number(r.n) === 1000;
      },
      { timeoutMs: 20_000, message: '1,000 workloads' },
    );
    const ev = await h.db
      .selectFrom('workload_events')
      .innerJoin('workloads', 'workloads.id', 'workload_events.workload_id')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('workloads.type', '=', 'ingest-bulk')
      .executeTakeFirstOrThrow();
    expect(Number(ev.n)).toBe(1000);
  });

  it('sends the workloads of a batch in one notice to the ingested subject their submissions name, and to no other subject', async () => {
    const notify = SUBJECTS.ingested(uuidv7());
    const notices: IngestedV1[] = [];
    const stray: string[] = [];
    const subs = [
      h.nc.subscribe(SUBJECTS.ingestedAll, {
        callback: (_err, msg) => {
          const decoded = decode('ingested', msg.data);
          if (decoded.ok && msg.subject === notify) notices.push(decoded.value);
          else stray.push(msg.subject);
        },
      }),
      h.nc.subscribe('niyanta.notice-test.>', {
        callback: (_err, msg) => {
          stray.push(msg.subject);
        },
      }),
    ];
    const asked = Array.from({ length: 3 }, () => submission('ingest-notice'));
    const silent = [
      { s: submission('ingest-notice'), header: undefined },
      // Only a `niyanta.ingested.<token>` subject is honoured: a client cannot aim the
      // scheduler's publishes anywhere else.
      { s: submission('ingest-notice'), header: 'niyanta.notice-test.elsewhere' },
      { s: submission('ingest-notice'), header: `${notify}.deeper` },
    ];
    await publishAll(h.js, [
      ...asked.map((s) => ({
        kind: 'submission' as const,
        subject: SUBJECTS.submit(DEFAULT_TENANT),
        message: s,
        headers: { [INGEST_NOTIFY_HEADER]: notify },
      })),
      ...silent.map(({ s, header }) => ({
        kind: 'submission' as const,
        subject: SUBJECTS.submit(DEFAULT_TENANT),
        message: s,
        ...(header === undefined ? {} : { headers: { [INGEST_NOTIFY_HEADER]: header } }),
      })),
    ]);
    await waitConsumerDrained(h, 'schedulerIngest');
    // The notices went out on the scheduler's connection before its acks: a round trip on ours
    // delivers whatever was routed to it.
    await h.nc.flush();
    for (const sub of subs) sub.unsubscribe();

    const noticed = notices.flatMap((n) => n.workloads) as Partial<WorkloadV1>[];
    expect(noticed.map((w) => w.id).sort()).toEqual(asked.map((s) => s.id).sort());
    for (const w of noticed) {
      expect(w).toMatchObject({ type: 'ingest-notice', status: 'PENDING', attempt: 0 });
      expect(validateHttp('workload', w)).toEqual([]);
    }
    expect(stray).toEqual([]);
    for (const { s } of silent) expect(await workload(h, s.id)).toBeDefined();
  });

  it('records malformed submissions in rejected_submissions and on niyanta.rejected, ingesting the valid ones around them', async () => {
    const seen: RejectedV1[] = [];
    const sub = h.nc.subscribe(SUBJECTS.rejected);
    void (async () => {
      for await (const m of sub) {
        const d = decode('rejected', m.data);
        if (d.ok) seen.push(d.value);
      }
    })();
    const before = submission('ingest-mixed');
    const after = submission('ingest-mixed');
    const subject = SUBJECTS.submit(DEFAULT_TENANT);
    await submit(h, before);
    const notJson = await h.js.publish(subject, new TextEncoder().encode('{not json'), {
      msgID: uuidv7(),
    });
    const invalid = await h.js.publish(
      subject,
      new TextEncoder().encode(
        JSON.stringify({ schemaVersion: 1, id: uuidv7(), input: 1, priority: 'high' }),
      ),
      {
        msgID: uuidv7(),
      },
    );
    await submit(h, after);
    await waitForWorkload(h, before.id, () => true, 'the valid submission before');
    await waitForWorkload(h, after.id, () => true, 'the valid submission after');
    const rows = await waitFor(
      async () => {
        const r = await h.db
          .selectFrom('rejected_submissions')
          .selectAll()
          .where('stream_seq', 'in', [notJson.seq, invalid.seq])
          .orderBy('stream_seq')
          .execute();
        return r.length === 2 ? r : undefined;
      },
      { message: 'two rejected submissions' },
    );
    expect(rows[0]).toMatchObject({ subject, tenant: 'default', raw: '{not json', errors: [] });
    expect(rows[0]!.reason).toMatch(/not JSON/);
    expect(rows[1]!.errors).toEqual(
      expect.arrayContaining([
        { path: '/type', message: 'is required' },
        expect.objectContaining({ path: '/priority' }),
      ]),
    );
    await waitFor(
      () =>
        seen.filter((r) => r.streamSeq === notJson.seq || r.streamSeq === invalid.seq).length === 2,
      {
        message: 'two messages on niyanta.rejected',
      },
    );
    expect(seen.find((r) => r.streamSeq === invalid.seq)!.reason).toMatch(/invalid submission/);
    sub.unsubscribe();
    // Rejected messages are term-ed, never redelivered: the work queue is empty.
    await waitConsumerDrained(h, 'schedulerIngest');
  });

  it('rejects a submission PostgreSQL could not store without blocking the batch around it', async () => {
    const ok = submission('ingest-refused');
    // Valid JSON Schema, but jsonb refuses a lone surrogate (SQLSTATE 22P02): decode refuses it.
    const refused = submission('ingest-refused', { input: { text: '\ud800' } });
    const [, ack] = await publishAll(
      h.js,
      [ok, refused].map((s) => ({
        kind: 'submission' as const,
        subject: SUBJECTS.submit(DEFAULT_TENANT),
        message: s,
      })),
    );
    await waitForWorkload(h, ok.id, () => true, 'the good submission');
    const row = await waitFor(
      () =>
        h.db
          .selectFrom('rejected_submissions')
          .selectAll()
          .where('stream_seq', '=', ack!.seq)
          .executeTakeFirst(),
      { message: 'the refused submission recorded' },
    );
    expect(row.reason).toBe(
      'invalid submission: /input/text must not contain a lone UTF-16 surrogate (invalid Unicode)',
    );
    expect(await workload(h, refused.id)).toBeUndefined();
  });

  it('rejects a submission for an unknown tenant', async () => {
    const s = submission('ingest-tenant');
    const ack = await submit(h, s, 'no-such-tenant');
    const row = await waitFor(
      () =>
        h.db
          .selectFrom('rejected_submissions')
          .selectAll()
          .where('stream_seq', '=', ack.seq)
          .executeTakeFirst(),
      { message: 'the rejection' },
    );
    expect(row).toMatchObject({
      tenant: 'no-such-tenant',
      reason: expect.stringMatching(/unknown tenant "no-such-tenant"/),
    });
    expect(await workload(h, s.id)).toBeUndefined();
  });
});

describe('placement and runs', () => {
  it('assigns to a live worker with attempt 1, runs and completes it, one event row per transition', async () => {
    await using worker = await startFakeWorker(h, { id: 'fw-life', types: ['life'] });
    const statusEvents: StatusChange[] = [];
    const s = submission('life', { timeoutSeconds: 60 });
    const sub = h.nc.subscribe(SUBJECTS.events(DEFAULT_TENANT));
    void (async () => {
      for await (const m of sub) {
        const d = decode('statusEvents', m.data);
        if (d.ok) statusEvents.push(...changesOf(d.value, s.id));
      }
    })();
    await submit(h, s);
    const a = await worker.waitForAssignment(s.id);
    expect(a).toMatchObject({
      attempt: 1,
      type: 'life',
      input: { n: 1 },
      tenant: 'default',
      timeoutSeconds: 60,
      checkpoint: null,
    });
    await waitForWorkload(h, s.id, (r) => r.status === 'SCHEDULED', 'SCHEDULED');
    await worker.started(a);
    const running = await waitForWorkload(h, s.id, (r) => r.status === 'RUNNING', 'RUNNING');
    expect(running.started_at).not.toBeNull();
    await worker.complete(a, 'succeeded', { result: { answer: 42 } });
    const done = await waitForWorkload(h, s.id, (r) => r.status === 'COMPLETED', 'COMPLETED');
    expect(done).toMatchObject({
      result: { answer: 42 },
      progress: { fraction: 1 },
      attempt: 1,
      worker_id: 'fw-life',
    });
    expect(done.finished_at).not.toBeNull();
    expect((await events(s.id)).map((e) => [e.from_status, e.to_status, e.attempt])).toEqual([
      [null, 'PENDING', 0],
      ['PENDING', 'SCHEDULED', 1],
      ['SCHEDULED', 'RUNNING', 1],
      ['RUNNING', 'COMPLETED', 1],
    ]);
    await waitFor(() => statusEvents.some((e) => e.to === 'COMPLETED'), {
      message: 'the COMPLETED status event',
    });
    // The changes carry the small fields, not the workload (nor its result).
    expect(statusEvents.filter((e) => e.kind === 'status').map((e) => [e.from, e.to])).toEqual([
      [null, 'PENDING'],
      ['PENDING', 'SCHEDULED'],
      ['SCHEDULED', 'RUNNING'],
      ['RUNNING', 'COMPLETED'],
    ]);
    expect(statusEvents.find((e) => e.to === 'COMPLETED')).toMatchObject({
      attempt: 1,
      workerId: 'fw-life',
      reason: expect.any(String),
      at: expect.any(String),
    });
    expect(statusEvents.find((e) => e.to === 'COMPLETED')).not.toHaveProperty('result');
    sub.unsubscribe();
  });

  it('places a submission at ingest when a worker has room: inserted SCHEDULED, events in order', async () => {
    await using worker = await startFakeWorker(h, { id: 'fw-ingest', types: ['at-ingest'] });
    // A first one proves the scheduler sees the worker (it may be placed by the placer).
    const probe = submission('at-ingest');
    await submit(h, probe);
    await worker.waitForAssignment(probe.id);
    await waitForWorkload(h, probe.id, (r) => r.status === 'SCHEDULED', 'probe SCHEDULED');
    const s = submission('at-ingest');
    const seen: string[] = [];
    const sub = h.nc.subscribe(SUBJECTS.events(DEFAULT_TENANT));
    void (async () => {
      for await (const m of sub) {
        const d = decode('statusEvents', m.data);
        if (!d.ok) continue;
        for (const c of changesOf(d.value, s.id)) {
          if (c.kind === 'status') seen.push(`${c.from}>${c.to}`);
        }
      }
    })();
    await submit(h, s);
    const a = await worker.waitForAssignment(s.id);
    expect(a.attempt).toBe(1);
    const row = await waitForWorkload(h, s.id, (r) => r.status === 'SCHEDULED', 'SCHEDULED');
    // One row version: placed in the insert itself, not by a later update.
    expect(row.updated_at).toEqual(row.created_at);
    expect((await events(s.id)).map((e) => `${e.from_status}>${e.to_status}@${e.attempt}`)).toEqual(
      ['null>PENDING@0', 'PENDING>SCHEDULED@1'],
    );
    await waitFor(() => seen.length >= 2 || undefined, { message: 'two status events' });
    expect(seen).toEqual(['null>PENDING', 'PENDING>SCHEDULED']);
    sub.unsubscribe();
  });

  it('applies a batch of completions from one worker, with the start of runs that never reported it', async () => {
    await using worker = await startFakeWorker(h, { id: 'fw-batch', types: ['batched'] });
    const items = Array.from({ length: 3 }, () => submission('batched'));
    for (const s of items) await submit(h, s);
    const assigned = await Promise.all(items.map((s) => worker.waitForAssignment(s.id)));
    for (const s of items)
      await waitForWorkload(h, s.id, (r) => r.status === 'SCHEDULED', 'SCHEDULED');
    const startedAt = new Date(Date.now() - 5).toISOString();
    await publishOne(h.js, {
      kind: 'completionBatch',
      subject: SUBJECTS.completions(worker.id),
      message: {
        ...envelope(),
        workerId: worker.id,
        completions: [
          {
            workloadId: assigned[0]!.workloadId,
            attempt: 1,
            outcome: 'succeeded',
            result: 1,
            startedAt,
          },
          {
            workloadId: assigned[1]!.workloadId,
            attempt: 1,
            outcome: 'succeeded',
            result: 2,
            startedAt,
          },
          {
            workloadId: assigned[2]!.workloadId,
            attempt: 1,
            outcome: 'failed',
            error: { message: 'bad input', code: 'BAD', retryable: false },
          },
        ],
      },
    });
    const done = await Promise.all(
      items.map((s) => waitForWorkload(h, s.id, (r) => r.finished_at !== null, 'finished')),
    );
    expect(done.map((r) => r.status)).toEqual(['COMPLETED', 'COMPLETED', 'FAILED']);
    expect(done[0]!.result).toBe(1);
    expect(new Date(done[0]!.started_at!).toISOString()).toBe(startedAt);
    expect((await events(items[0]!.id)).map((e) => `${e.from_status}>${e.to_status}`)).toEqual([
      'null>PENDING',
      'PENDING>SCHEDULED',
      'SCHEDULED>RUNNING',
      'RUNNING>COMPLETED',
    ]);
    expect((await events(items[2]!.id)).map((e) => `${e.from_status}>${e.to_status}`)).toEqual([
      'null>PENDING',
      'PENDING>SCHEDULED',
      'SCHEDULED>RUNNING',
      'RUNNING>FAILED',
    ]);
    await waitConsumerDrained(h, 'schedulerComplete');
  });

  it('discards a completion from an old attempt, and retries a retryable failure after a backoff until maxAttempts', async () => {
    await using worker = await startFakeWorker(h, { id: 'fw-retry', types: ['flaky'] });
    const s = submission('flaky', { maxAttempts: 2 });
    await submit(h, s);
    const first = await worker.waitForAssignment(s.id, 1);
    await worker.started(first);
    await waitForWorkload(h, s.id, (r) => r.status === 'RUNNING', 'RUNNING');
    await worker.complete(first, 'failed', {
      error: { message: 'disk full', code: 'EIO', retryable: true },
    });
    const second = await worker.waitForAssignment(s.id, 2);
    const retried = (await events(s.id)).find((e) => e.to_status === 'PENDING' && e.attempt === 1)!;
    expect(retried.reason).toMatch(/^retrying in [\d.]+s after attempt 1 failed: disk full$/);
    const row = (await workload(h, s.id))!;
    expect(row.run_at!.getTime()).toBeGreaterThan(retried.at.getTime());
    expect(row.error).toEqual({ message: 'disk full', code: 'EIO', retryable: true });

    // A late success of attempt 1 must not overwrite attempt 2.
    await worker.complete(first, 'succeeded', { result: 'stale' });
    await waitConsumerDrained(h, 'schedulerComplete');
    expect((await workload(h, s.id))!).toMatchObject({
      status: 'SCHEDULED',
      attempt: 2,
      result: null,
    });

    await worker.complete(second, 'failed', {
      error: { message: 'disk full again', code: 'EIO', retryable: true },
    });
    const failed = await waitForWorkload(h, s.id, (r) => r.status === 'FAILED', 'FAILED');
    expect(failed).toMatchObject({
      attempt: 2,
      error: { message: 'disk full again', code: 'EIO', retryable: true },
    });
    expect(failed.finished_at).not.toBeNull();
    expect((await events(s.id)).map((e) => `${e.from_status}>${e.to_status}@${e.attempt}`)).toEqual(
      [
        'null>PENDING@0',
        'PENDING>SCHEDULED@1',
        'SCHEDULED>RUNNING@1',
        'RUNNING>PENDING@1',
        'PENDING>SCHEDULED@2',
        'SCHEDULED>RUNNING@2',
        'RUNNING>FAILED@2',
      ],
    );
  });

  it('stores run progress and hands the latest checkpoint to the next placement', async () => {
    const s = submission('resumable');
    await submit(h, s);
    await waitForWorkload(h, s.id, (r) => r.pending_reason !== null, 'waiting for a worker');
    const data = gzipSync(Buffer.from(JSON.stringify({ step: 7 })));
    await h.db
      .insertInto('checkpoints')
      .values(
        [1, 2].map((seq) => ({
          workload_id: s.id,
          seq,
          attempt: 1,
          size: data.length,
          sha256: '0'.repeat(64),
          storage: 'inline' as const,
          data,
        })),
      )
      .execute();
    // As if attempt 1 ran, checkpointed and went back to PENDING: only later runs resume.
    await h.db.updateTable('workloads').set({ attempt: 1 }).where('id', '=', s.id).execute();
    await using worker = await startFakeWorker(h, { id: 'fw-resume', types: ['resumable'] });
    const a = await worker.waitForAssignment(s.id);
    expect(a.checkpoint).toEqual({ seq: 2, attempt: 1, storage: 'inline', data: { step: 7 } });
    await worker.started(a);
    const progress = (attempt: number, workerId: string, fraction: number, message: string) =>
      publishOne(h.js, {
        kind: 'runUpdate',
        subject: SUBJECTS.run(s.id),
        message: {
          ...envelope(),
          workloadId: s.id,
          attempt,
          workerId,
          kind: 'progress',
          progress: { fraction, message },
        },
      });
    await progress(a.attempt, worker.id, 0.5, 'half');
    const row = await waitForWorkload(h, s.id, (r) => r.progress !== null, 'progress stored');
    expect(row).toMatchObject({ status: 'RUNNING', progress: { fraction: 0.5, message: 'half' } });

    // Progress from an earlier attempt, or from another worker, is fenced out, and acked: the
    // work queue empties without storing it.
    for (const [attempt, workerId] of [
      [a.attempt - 1, worker.id],
      [a.attempt, 'fw-other'],
    ] as const) {
      await progress(attempt, workerId, 0.9, 'stale');
    }
    await waitFor(
      async () => (await h.jsm.streams.info(STREAMS.run.name)).state.messages === 0 || undefined,
      { message: 'the stale run updates acked' },
    );
    const after = await h.db
      .selectFrom('workloads')
      .select('progress')
      .where('id', '=', s.id)
      .executeTakeFirstOrThrow();
    expect(after.progress).toEqual({ fraction: 0.5, message: 'half' });
  });

  it('keeps a workload needing more memory than any worker PENDING, saying why', async () => {
    await using _worker = await startFakeWorker(h, {
      id: 'fw-small',
      types: ['big'],
      capacity: { memoryMb: 8192 },
    });
    const s = submission('big', { requirements: { memoryMb: 99999 } });
    await submit(h, s);
    const row = await waitForWorkload(
      h,
      s.id,
      (r) => r.pending_reason !== null,
      'a pending reason',
    );
    expect(row).toMatchObject({
      status: 'PENDING',
      pending_reason: 'needs memoryMb 99999 but the largest live worker offers 8192',
    });
  });

  it('inserts a workload no live worker can take now with its pending reason, so the sweep rewrites nothing', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'fw-crowded',
      types: ['crowded'],
      capacity: { slots: 1 },
    });
    const first = submission('crowded');
    await submit(h, first);
    await worker.waitForAssignment(first.id, 1);
    const full = submission('crowded');
    const unhandled = submission('nobody-handles');
    await submit(h, full);
    await submit(h, unhandled);
    for (const [s, reason] of [
      [full, 'no free slot on the live worker(s) that handle type "crowded"'],
      [unhandled, 'no live worker handles type "nobody-handles"'],
    ] as const) {
      const row = await waitForWorkload(h, s.id, (r) => r.status !== undefined, 'its row');
      expect(row).toMatchObject({ status: 'PENDING', pending_reason: reason });
      // The row as inserted: the sweep sets updated_at when it writes a reason.
      expect(row.updated_at).toEqual(row.created_at);
    }
    // A reason gone stale is put right by the sweep.
    await h.db
      .updateTable('workloads')
      .set({ pending_reason: 'stale' })
      .where('id', '=', full.id)
      .execute();
    await waitForWorkload(
      h,
      full.id,
      (r) => r.pending_reason === 'no free slot on the live worker(s) that handle type "crowded"',
      'the sweep to rewrite the stale reason',
    );
  });

  it("sends a dead worker's runs back to PENDING and places them again with a new attempt", async () => {
    await using doomed = await startFakeWorker(h, { id: 'fw-doomed', types: ['orphan'] });
    const s = submission('orphan');
    await submit(h, s);
    const a = await doomed.waitForAssignment(s.id, 1);
    await doomed.started(a);
    await waitForWorkload(h, s.id, (r) => r.status === 'RUNNING', 'RUNNING');
    await doomed.stop();
    await using heir = await startFakeWorker(h, { id: 'fw-heir', types: ['orphan'] });
    await publishOne(h.js, {
      kind: 'workerDead',
      subject: SUBJECTS.workerDead('fw-doomed'),
      message: {
        ...envelope(),
        workerId: 'fw-doomed',
        lastHeartbeatAt: new Date().toISOString(),
        reason: 'test',
      },
    });
    const b = await heir.waitForAssignment(s.id, 2);
    expect(b.attempt).toBe(2);
    const reasons = (await events(s.id)).map((e) => e.reason);
    expect(reasons).toContain('worker fw-doomed declared dead: test');
  });

  it("removes a dead worker's pending assignments and consumers from the broker", async () => {
    const gone = await startFakeWorker(h, { id: 'fw-gone', types: ['stranded'] });
    // It stops reading but is still in view: the scheduler places on it, the assignment waits.
    await gone.stop();
    const s = submission('stranded');
    await submit(h, s);
    await waitForWorkload(h, s.id, (r) => r.status === 'SCHEDULED', 'SCHEDULED on fw-gone');
    const pending = () =>
      h.jsm.streams.getMessage(STREAMS.assign.name, { last_by_subj: SUBJECTS.assign('fw-gone') });
    await waitFor(async () => (await pending()) !== null, { message: 'the assignment stored' });

    await publishOne(h.js, {
      kind: 'workerDead',
      subject: SUBJECTS.workerDead('fw-gone'),
      message: {
        ...envelope(),
        workerId: 'fw-gone',
        lastHeartbeatAt: new Date().toISOString(),
        reason: 'no heartbeat for 1600 ms',
      },
    });
    await waitForWorkload(h, s.id, (r) => r.status === 'PENDING', 'back to PENDING');
    expect((await events(s.id)).at(-1)).toMatchObject({
      from_status: 'SCHEDULED',
      to_status: 'PENDING',
      worker_id: 'fw-gone',
      reason: 'worker fw-gone declared dead: no heartbeat for 1600 ms',
    });
    expect(await pending()).toBeNull();
    const consumers = workerConsumers('fw-gone');
    for (const c of [consumers.assign, consumers.control]) {
      await expect(h.jsm.consumers.info(c.stream, c.durable_name)).rejects.toThrow(
        /consumer not found/,
      );
    }
    // Not placed there again: the dead worker is out of view until it heartbeats anew.
    await using heir = await startFakeWorker(h, { id: 'fw-gone-heir', types: ['stranded'] });
    expect((await heir.waitForAssignment(s.id, 2)).attempt).toBe(2);
  });

  it('sends back only the lost attempts a live worker is reported for, and keeps the worker', async () => {
    await using live = await startFakeWorker(h, { id: 'fw-live', types: ['lossy'] });
    const [lost, kept, elsewhere] = [submission('lossy'), submission('lossy'), submission('lossy')];
    for (const s of [lost, kept, elsewhere]) {
      await submit(h, s);
      await live.started(await live.waitForAssignment(s.id, 1));
      await waitForWorkload(h, s.id, (r) => r.status === 'RUNNING', 'RUNNING');
    }
    await publishOne(h.js, {
      kind: 'workerDead',
      subject: SUBJECTS.workerDead('fw-live'),
      message: {
        ...envelope(),
        workerId: 'fw-live',
        lastHeartbeatAt: new Date().toISOString(),
        reason: 'missing from its heartbeats',
        attempts: [
          { workloadId: lost.id, attempt: 1 },
          { workloadId: kept.id, attempt: 2 }, // not its current attempt
        ],
      },
    });
    await publishOne(h.js, {
      kind: 'workerDead',
      subject: SUBJECTS.workerDead('fw-someone-else'),
      message: {
        ...envelope(),
        workerId: 'fw-someone-else', // not the worker it runs on
        lastHeartbeatAt: new Date().toISOString(),
        attempts: [{ workloadId: elsewhere.id, attempt: 1 }],
      },
    });
    // Placed again on the same (live, still in view) worker with a new attempt.
    const again = await live.waitForAssignment(lost.id, 2);
    expect(again.attempt).toBe(2);
    expect((await events(lost.id)).map((e) => e.reason)).toContain(
      'attempt 1 lost on worker fw-live: missing from its heartbeats',
    );
    await waitConsumerDrained(h, 'schedulerWorkerDead');
    expect(await workload(h, kept.id)).toMatchObject({ status: 'RUNNING', attempt: 1 });
    expect(await workload(h, elsewhere.id)).toMatchObject({ status: 'RUNNING', attempt: 1 });
    const consumers = workerConsumers('fw-live');
    await expect(
      h.jsm.consumers.info(consumers.assign.stream, consumers.assign.durable_name),
    ).resolves.toBeDefined();
  });
});

describe('fencing of newer attempts', () => {
  it('gives up on a completion of an attempt never placed after about 20 deliveries', async () => {
    await using worker = await startFakeWorker(h, { id: 'fw-future', types: ['future'] });
    const s = submission('future');
    await submit(h, s);
    const a = await worker.waitForAssignment(s.id, 1);
    await worker.started(a);
    await waitForWorkload(h, s.id, (r) => r.status === 'RUNNING', 'RUNNING');
    // As from a run no placement made: attempt 2 never reaches the row.
    await worker.complete({ ...a, attempt: 2 }, 'succeeded', { result: 'from the future' });
    const c = CONSUMERS.schedulerComplete;
    await waitFor(
      async () => {
        const info = await h.jsm.consumers.info(c.stream, c.durable_name);
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      // 20 deliveries 500 ms apart, with room to spare; without the cap it never drains.
      { timeoutMs: 30_000, message: 'the completion of attempt 2 given up' },
    );
    expect(await workload(h, s.id)).toMatchObject({ status: 'RUNNING', attempt: 1, result: null });
    // The current attempt still records its outcome.
    await worker.complete(a, 'succeeded', { result: 'now' });
    await waitForWorkload(h, s.id, (r) => r.status === 'COMPLETED', 'COMPLETED');
  });
});

describe('optimistic changes', () => {
  it('applies a change with an expect guard only while the row still has what it was decided on', async () => {
    const s = submission('guarded');
    await submit(h, s);
    await waitForWorkload(h, s.id, (r) => r.status === 'PENDING', 'PENDING');
    const change = (requestedAction: string | null) => ({
      id: s.id,
      from: 'PENDING' as const,
      to: 'CANCELLED' as const,
      attempt: 0,
      finished: 'now' as const,
      reason: 'guarded cancel',
      expect: { workerId: null, maxAttempts: 3, requestedAction },
    });
    // Decided on a row that had a cancel asked of it: the row has none, so nothing changes.
    expect(await applyChanges(h.db, [change('cancel')])).toEqual([]);
    expect((await workload(h, s.id))?.status).toBe('PENDING');
    const [t] = await applyChanges(h.db, [change(null)]);
    expect(t).toMatchObject({
      from: 'PENDING',
      reason: 'guarded cancel',
      row: { status: 'CANCELLED' },
    });
    expect((await events(s.id)).map((e) => `${e.from_status}>${e.to_status}:${e.reason}`)).toEqual([
      'null>PENDING:submitted',
      'PENDING>CANCELLED:guarded cancel',
    ]);
  });
});

describe('commands', () => {
  const command = (workloadId: string, cmd: 'cancel' | 'pause' | 'resume' | 'retry') =>
    publishOne(h.js, {
      kind: 'command',
      subject: SUBJECTS.command(DEFAULT_TENANT),
      message: { ...envelope(), workloadId, command: cmd },
    });

  it('cancels a PENDING workload at once', async () => {
    const s = submission('nobody-runs-this');
    await submit(h, s);
    await waitForWorkload(h, s.id, (r) => r.status === 'PENDING', 'PENDING');
    await command(s.id, 'cancel');
    const row = await waitForWorkload(h, s.id, (r) => r.status === 'CANCELLED', 'CANCELLED');
    expect(row.finished_at).not.toBeNull();
    expect((await events(s.id)).at(-1)).toMatchObject({
      from_status: 'PENDING',
      to_status: 'CANCELLED',
    });
  });

  it('asks the worker to stop a RUNNING workload and records CANCELLED with its completion', async () => {
    await using worker = await startFakeWorker(h, { id: 'fw-cancel', types: ['cancel-me'] });
    const s = submission('cancel-me');
    await submit(h, s);
    const a = await worker.waitForAssignment(s.id);
    await worker.started(a);
    await waitForWorkload(h, s.id, (r) => r.status === 'RUNNING', 'RUNNING');
    await command(s.id, 'cancel');
    const stop = await waitFor(() => worker.controls.find((c) => c.workloadId === s.id), {
      message: 'a control message',
    });
    expect(stop).toMatchObject({ action: 'stop', attempt: 1, workerId: 'fw-cancel' });
    expect((await workload(h, s.id))!.status).toBe('RUNNING');
    await worker.complete(a, 'cancelled');
    await waitForWorkload(h, s.id, (r) => r.status === 'CANCELLED', 'CANCELLED');
  });

  const declareDead = (workerId: string, attempts?: WorkerDeadV1['attempts']) =>
    publishOne(h.js, {
      kind: 'workerDead',
      subject: SUBJECTS.workerDead(workerId),
      message: {
        ...envelope(),
        workerId,
        lastHeartbeatAt: new Date().toISOString(),
        reason: 'test',
        ...(attempts ? { attempts } : {}),
      },
    });

  it('ends a RUNNING workload CANCELLED when its worker dies before the cancelled completion', async () => {
    await using worker = await startFakeWorker(h, { id: 'fw-cancel-dies', types: ['cancel-dies'] });
    await using heir = await startFakeWorker(h, { id: 'fw-cancel-heir', types: ['cancel-dies'] });
    const s = submission('cancel-dies');
    await submit(h, s);
    const a = await waitFor(
      () =>
        worker.assignments.find((x) => x.workloadId === s.id) ??
        heir.assignments.find((x) => x.workloadId === s.id),
      { message: 'an assignment' },
    );
    const runner = worker.assignments.includes(a) ? worker : heir;
    await runner.started(a);
    await waitForWorkload(h, s.id, (r) => r.status === 'RUNNING', 'RUNNING');
    await command(s.id, 'cancel');
    await waitForWorkload(h, s.id, (r) => r.requested_action === 'cancel', 'the cancel stored');
    await declareDead(runner.id);
    const row = await waitForWorkload(h, s.id, (r) => r.status === 'CANCELLED', 'CANCELLED');
    expect(row).toMatchObject({ attempt: 1, requested_action: null });
    expect(row.finished_at).not.toBeNull();
    expect((await events(s.id)).at(-1)).toMatchObject({
      from_status: 'RUNNING',
      to_status: 'CANCELLED',
      worker_id: runner.id,
      reason: `cancelled as requested (worker ${runner.id} declared dead: test)`,
    });
    // Not placed again: no second attempt reaches the other worker.
    await waitConsumerDrained(h, 'schedulerWorkerDead');
    const other = runner === worker ? heir : worker;
    expect(other.assignments.filter((x) => x.workloadId === s.id)).toEqual([]);
    expect(await workload(h, s.id)).toMatchObject({ status: 'CANCELLED', attempt: 1 });
  });

  it('ends a RUNNING workload PAUSED when its attempt is lost after a pause, and resume runs it again', async () => {
    await using worker = await startFakeWorker(h, { id: 'fw-pause-lost', types: ['pause-lost'] });
    const s = submission('pause-lost');
    await submit(h, s);
    const a = await worker.waitForAssignment(s.id, 1);
    await worker.started(a);
    await waitForWorkload(h, s.id, (r) => r.status === 'RUNNING', 'RUNNING');
    await command(s.id, 'pause');
    await waitFor(() => worker.controls.find((c) => c.workloadId === s.id), {
      message: 'a pause control',
    });
    await waitForWorkload(h, s.id, (r) => r.requested_action === 'pause', 'the pause stored');
    await declareDead(worker.id, [{ workloadId: s.id, attempt: 1 }]);
    const row = await waitForWorkload(h, s.id, (r) => r.status === 'PAUSED', 'PAUSED');
    expect(row).toMatchObject({ worker_id: null, requested_action: null, attempt: 1 });
    expect((await events(s.id)).at(-1)?.reason).toBe(
      'paused as requested (attempt 1 lost on worker fw-pause-lost: test)',
    );
    await command(s.id, 'resume');
    const again = await worker.waitForAssignment(s.id, 2);
    await worker.complete(again, 'released');
    // A run handed back without a request goes back to PENDING and is placed again.
    await worker.waitForAssignment(s.id, 3);
  });

  it('ends a RUNNING workload asked to cancel CANCELLED on a retryable failure, without a retry', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'fw-cancel-fails',
      types: ['cancel-fails'],
    });
    const s = submission('cancel-fails', { maxAttempts: 5 });
    await submit(h, s);
    const a = await worker.waitForAssignment(s.id, 1);
    await worker.started(a);
    await waitForWorkload(h, s.id, (r) => r.status === 'RUNNING', 'RUNNING');
    await command(s.id, 'cancel');
    await waitForWorkload(h, s.id, (r) => r.requested_action === 'cancel', 'the cancel stored');
    await worker.complete(a, 'failed', {
      error: { message: 'interrupted', code: 'HANDLER_ERROR', retryable: true },
    });
    const row = await waitForWorkload(h, s.id, (r) => r.status === 'CANCELLED', 'CANCELLED');
    expect(row).toMatchObject({ attempt: 1, run_at: null, requested_action: null });
  });

  it('pauses, resumes and retries', async () => {
    const s = submission('nobody-runs-this-either');
    await submit(h, s);
    await waitForWorkload(h, s.id, (r) => r.status === 'PENDING', 'PENDING');
    await command(s.id, 'pause');
    await waitForWorkload(h, s.id, (r) => r.status === 'PAUSED', 'PAUSED');
    await command(s.id, 'resume');
    await waitForWorkload(h, s.id, (r) => r.status === 'PENDING', 'PENDING again');
    await command(s.id, 'cancel');
    await waitForWorkload(h, s.id, (r) => r.status === 'CANCELLED', 'CANCELLED');
    await command(s.id, 'retry');
    const row = await waitForWorkload(
      h,
      s.id,
      (r) => r.status === 'PENDING',
      'PENDING after retry',
    );
    expect(row.finished_at).toBeNull();
    expect((await events(s.id)).map((e) => e.to_status)).toEqual([
      'PENDING',
      'PAUSED',
      'PENDING',
      'CANCELLED',
      'PENDING',
    ]);
  });
});
