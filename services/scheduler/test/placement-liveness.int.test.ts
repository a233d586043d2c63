import {
  DEFAULT_TENANT,
  SUBJECTS,
  changesOf,
  decode,
  envelope,
  publishAll,
} from '@niyanta/messages';
import type { AssignmentV1, SubmissionV1 } from '@niyanta/messages';
import type { PlacementExplanation } from '@niyanta/db';
import { waitFor } from '@niyanta/testing';
import { sql } from 'kysely';
import {
  startFakeWorker,
  startHarness,
  submission,
  submit,
  waitForWorkload,
  workload,
} from './harness.js';
import type { FakeWorker, Harness } from './harness.js';

jest.setTimeout(60_000);

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

/** Every assignment published on the broker from now on, whoever it is for. */
function watchAssignments(): { ids: Set<string>; stop: () => void } {
  const ids = new Set<string>();
  const sub = h.nc.subscribe(SUBJECTS.assignAll);
  void (async () => {
    for await (const m of sub) {
      const d = decode('assignment', m.data);
      if (d.ok) for (const a of d.value.assignments) ids.add(a.workloadId);
    }
  })();
  return { ids, stop: () => sub.unsubscribe() };
}

/** The pending reason in the first status change of a workload (its `submitted` step). */
function submittedReason(id: string): Promise<string | null> {
  const sub = h.nc.subscribe(SUBJECTS.events(DEFAULT_TENANT));
  return (async () => {
    for await (const m of sub) {
      const d = decode('statusEvents', m.data);
      const first = d.ok ? changesOf(d.value, id)[0] : undefined;
      if (first !== undefined) {
        sub.unsubscribe();
        return first.pendingReason ?? null;
      }
    }
    throw new Error(`no event for ${id}`);
  })();
}

/** Submits one workload and waits for its assignment and completes it: the worker is in view. */
async function probe(worker: FakeWorker, type: string): Promise<void> {
  const s = submission(type);
  await submit(h, s);
  await worker.complete(await worker.waitForAssignment(s.id), 'succeeded');
  await waitForWorkload(h, s.id, (r) => r.status === 'COMPLETED', 'the probe completed');
}

const publishBatch = (items: SubmissionV1[]) =>
  publishAll(
    h.js,
    items.map((message) => ({
      kind: 'submission' as const,
      subject: SUBJECTS.submit(DEFAULT_TENANT),
      message,
    })),
  );

describe('placement never blocks on what it cannot place (issue 18)', () => {
  it('issue 18 reproduction: nine workloads no worker can take, then an ordinary one: it starts', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'fw-repro',
      types: ['noop', 'sleep'],
      capacity: { slots: 8 },
    });
    await probe(worker, 'sleep');
    const unplaceable = Array.from({ length: 9 }, () =>
      submission('noop', { input: 1, requirements: { cpu: 64, gpu: 34 } }),
    );
    for (const s of unplaceable) await submit(h, s);
    for (const s of unplaceable) await waitForWorkload(h, s.id, () => true, 'its row');

    const sleep = submission('sleep', { input: { durationMs: 1 } });
    const submitted = submittedReason(sleep.id);
    await submit(h, sleep);
    expect((await worker.waitForAssignment(sleep.id)).attempt).toBe(1);
    // The reason it was inserted with is true: never "no free slot" while slots are free.
    expect((await submitted) ?? '').not.toMatch(/no free slot/);

    for (const s of unplaceable) {
      expect(await workload(h, s.id)).toMatchObject({
        status: 'PENDING',
        parked: true,
        pending_reason: 'needs cpu 64 but the largest live worker offers 4',
      });
    }
  });

  it('places smaller work past workloads that fit a worker only once it frees resources', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'fw-busy-cpu',
      types: ['cpu-heavy', 'cpu-light'],
      capacity: { slots: 8, cpu: 4 },
    });
    await probe(worker, 'cpu-light');
    const first = submission('cpu-heavy', { requirements: { cpu: 4 } });
    await submit(h, first);
    await worker.waitForAssignment(first.id); // takes every cpu; 7 slots stay free
    const heavy = Array.from({ length: 12 }, () =>
      submission('cpu-heavy', { requirements: { cpu: 4 } }),
    );
    for (const s of heavy) await submit(h, s);
    for (const s of heavy) await waitForWorkload(h, s.id, () => true, 'its row');

    const light = submission('cpu-light');
    const submitted = submittedReason(light.id);
    await submit(h, light);
    await worker.waitForAssignment(light.id);
    const reason = await submitted;
    expect([
      null,
      'waiting behind older workloads for a slot on the live worker(s) that handle type "cpu-light"',
    ]).toContain(reason);
    // The heavy ones wait, not parked: the worker can take them once its cpu is free.
    expect(await workload(h, heavy[0]!.id)).toMatchObject({ status: 'PENDING', parked: false });
  });

  it('un-parks a workload and runs it when a worker that can take it joins', async () => {
    await using small = await startFakeWorker(h, { id: 'fw-no-gpu', types: ['train'] });
    await probe(small, 'train');
    const s = submission('train', { requirements: { gpu: 2 } });
    await submit(h, s);
    const parked = await waitForWorkload(h, s.id, () => true, 'its row');
    expect(parked).toMatchObject({
      status: 'PENDING',
      parked: true,
      pending_reason: 'needs gpu 2 but the largest live worker offers 0',
    });
    await using big = await startFakeWorker(h, {
      id: 'fw-gpu',
      types: ['train'],
      capacity: { gpu: 2 },
    });
    expect((await big.waitForAssignment(s.id)).attempt).toBe(1);
    expect(await workload(h, s.id)).toMatchObject({ status: 'SCHEDULED', parked: false });
  });
  it('parks a workload no live worker passes the affinity of, and runs it when one that does joins', async () => {
    await using poolX = await startFakeWorker(h, {
      id: 'fw-pool-x',
      types: ['pinned'],
      labels: { pool: 'x' },
    });
    await probe(poolX, 'pinned');
    const s = submission('pinned', {
      placement: { affinity: [{ key: 'pool', operator: 'In', values: ['y'] }] },
    });
    await submit(h, s);
    const parked = await waitForWorkload(h, s.id, (r) => r.parked, 'parked');
    expect(parked).toMatchObject({
      status: 'PENDING',
      pending_reason:
        'label pool is not one of [y] (required affinity) (1 of 1 live worker(s) that handle type "pinned")',
    });
    await using poolY = await startFakeWorker(h, {
      id: 'fw-pool-y',
      types: ['pinned'],
      labels: { pool: 'y' },
    });
    expect((await poolY.waitForAssignment(s.id)).attempt).toBe(1);
    expect(await workload(h, s.id)).toMatchObject({ status: 'SCHEDULED', parked: false });
  });
  it('records the decision of a workload placed at ingest: its worker and scores', async () => {
    await using worker = await startFakeWorker(h, { id: 'fw-explained', types: ['explained'] });
    await probe(worker, 'explained');
    const s = submission('explained');
    await submit(h, s);
    await worker.waitForAssignment(s.id);
    const { rows } = await sql<{
      worker_id: string;
      explanation: PlacementExplanation;
      same: boolean;
    }>`
      select e.worker_id, e.explanation, e.xmin::text = w.xmin::text as same
      from placement_explanations e join workloads w on w.id = e.workload_id
      where e.workload_id = ${s.id} and e.status = 'PLACED'`.execute(h.db);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row!.worker_id).toBe('fw-explained');
    // Written with the row by ingest's insert (one transaction), not by a placement cycle.
    expect(row!.same).toBe(true);
    expect(row!.explanation.workers).toEqual([
      expect.objectContaining({ workerId: 'fw-explained', feasible: true, reasons: [] }),
    ]);
    expect(Object.keys(row!.explanation.workers[0]!.scores ?? {})).toContain('spread');
  });
});

describe('nothing is assigned before its row is committed (issue 18, item 4)', () => {
  it('never assigns a submission PostgreSQL refuses, and assigns the 49 ordinary ones of its batch', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'fw-refused',
      types: ['refusable'],
      capacity: { slots: 64 },
    });
    await probe(worker, 'refusable');
    const watch = watchAssignments();
    try {
      const batch = Array.from({ length: 50 }, (_, i) =>
        // jsonb refuses a lone surrogate (SQLSTATE 22P05): valid JSON Schema, unstorable value.
        submission('refusable', { input: i === 17 ? 'x\ud800' : i }),
      );
      const refused = batch[17]!;
      const acks = await publishBatch(batch);
      for (const s of batch) {
        if (s !== refused) await worker.waitForAssignment(s.id);
      }
      await waitFor(
        () =>
          h.db
            .selectFrom('rejected_submissions')
            .select('reason')
            .where('stream_seq', '=', acks[17]!.seq)
            .executeTakeFirst(),
        { message: 'the refused submission recorded' },
      );
      await h.nc.flush();
      expect(watch.ids.has(refused.id)).toBe(false);
      expect(worker.assignments.some((a) => a.workloadId === refused.id)).toBe(false);
      expect(await workload(h, refused.id)).toBeUndefined();
      expect(batch.filter((s) => watch.ids.has(s.id))).toHaveLength(49);
    } finally {
      watch.stop();
    }
  });
});

describe('a worker advertising a type PostgreSQL cannot store (issue 18, item 5)', () => {
  it('keeps placing on the other workers while it beats', async () => {
    // Waits in PostgreSQL for the placer: no live worker handles its type yet.
    const s = submission('after-nul');
    await submit(h, s);
    await waitForWorkload(h, s.id, (r) => r.status === 'PENDING', 'PENDING');
    // Published as raw JSON: the heartbeat schema may refuse such a beat before it gets here.
    const beat = () =>
      h.nc.publish(
        SUBJECTS.heartbeat('fw-nul'),
        JSON.stringify({
          ...envelope(),
          workerId: 'fw-nul',
          status: 'ACTIVE',
          capacity: { slots: 4, cpu: 4, memoryMb: 8192, gpu: 0 },
          labels: {},
          types: ['nul\u0000type', 'other'],
          running: [],
          startedAt: new Date().toISOString(),
          intervalMs: 200,
        }),
      );
    beat();
    const beating = setInterval(beat, 200);
    try {
      await using good = await startFakeWorker(h, { id: 'fw-after-nul', types: ['after-nul'] });
      const a: AssignmentV1['assignments'][number] = await good.waitForAssignment(s.id);
      expect(a.attempt).toBe(1);
    } finally {
      clearInterval(beating);
    }
  });
});
