import {
  DEFAULT_TENANT,
  INGEST_NOTIFY_HEADER,
  SUBJECTS,
  decode,
  envelope,
  publishOne,
  uuidv7,
} from '@niyanta/messages';
import type { SubmissionV1, WorkloadV1 } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { sql } from 'kysely';
import { loadDependencyResults } from '../src/dependencies/dependency-results.js';
import { unparkFitting } from '../src/workload-core/statements/unpark-fitting.js';
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
let worker: FakeWorker;
/** Status changes seen on niyanta.events.<default>, as `id:from>to`. */
const seen: string[] = [];

beforeAll(async () => {
  h = await startHarness();
  worker = await startFakeWorker(h, { id: 'deps-w', types: ['step'], capacity: { slots: 64 } });
  h.nc.subscribe(SUBJECTS.events(DEFAULT_TENANT), {
    callback: (_err, m) => {
      const d = decode('statusEvents', m.data);
      if (!d.ok) return;
      for (const c of d.value.changes)
        if (c.kind === 'status') seen.push(`${c.workloadId}:${c.from}>${c.to}`);
    },
  });
  await h.nc.flush();
});

afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

const step = (over: Partial<SubmissionV1> = {}) => submission('step', { maxAttempts: 1, ...over });

async function eventsOf(id: string) {
  const { rows } = await sql<{ from_status: string | null; to_status: string; reason: string }>`
    select from_status, to_status, reason from workload_events where workload_id = ${id}
    order by id`.execute(h.db);
  return rows;
}

async function runToEnd(s: SubmissionV1, outcome: 'succeeded' | 'failed', result?: unknown) {
  const a = await worker.waitForAssignment(s.id);
  await worker.complete(
    a,
    outcome,
    outcome === 'succeeded'
      ? { result }
      : { error: { message: 'told to fail', code: 'TOLD', retryable: false } },
  );
  return a;
}

describe('dependencies', () => {
  it('holds a dependent out of the queue until its dependencies complete, then assigns it their results', async () => {
    const a = step();
    const b = step();
    const d = step({ dependsOn: [a.id, b.id], dependencyRefs: { [b.id]: 'bee' } });
    for (const s of [a, b, d]) await submit(h, s);
    const waiting = await waitForWorkload(h, d.id, () => true, 'd inserted');
    expect(waiting).toMatchObject({
      status: 'PENDING',
      parked: true,
      deps_waiting: 2,
      on_dependency_failure: 'cancel',
      pending_reason: 'waiting for 2 of 2 dependencies',
    });
    expect(await workload(h, a.id)).toMatchObject({ has_dependents: true });

    await runToEnd(a, 'succeeded', { from: 'a' });
    await waitForWorkload(
      h,
      d.id,
      (r) => r.deps_waiting === 1 && r.pending_reason === 'waiting for 1 of 2 dependencies',
      'one dependency met',
    );
    expect(worker.assignments.some((x) => x.workloadId === d.id)).toBe(false);

    await runToEnd(b, 'succeeded', { from: 'b' });
    const assigned = await worker.waitForAssignment(d.id);
    expect(assigned.dependencies).toEqual({ [a.id]: { from: 'a' }, [b.id]: { from: 'b' } });
    expect(assigned.dependencyRefs).toEqual({ bee: b.id });
    const row = await workload(h, d.id);
    expect(row).toMatchObject({ deps_waiting: 0, parked: false });
  });

  it('counts a dependency already COMPLETED at submission as met', async () => {
    const a = step();
    await submit(h, a);
    await runToEnd(a, 'succeeded', 7);
    await waitForWorkload(h, a.id, (r) => r.status === 'COMPLETED', 'a completed');
    const d = step({ dependsOn: [a.id] });
    await submit(h, d);
    const assigned = await worker.waitForAssignment(d.id);
    expect(assigned.dependencies).toEqual({ [a.id]: 7 });
  });

  it('cancels the dependents of a failed dependency down the graph, with their events', async () => {
    const a = step();
    const b = step({ dependsOn: [a.id] });
    const c = step({ dependsOn: [b.id] });
    const runs = step({ dependsOn: [b.id], onDependencyFailure: 'run' });
    for (const s of [a, b, c, runs]) await submit(h, s);
    await waitForWorkload(h, runs.id, () => true, 'all inserted');
    await runToEnd(a, 'failed');
    const bRow = await waitForWorkload(h, b.id, (r) => r.status === 'CANCELLED', 'b cancelled');
    expect(bRow.error).toMatchObject({
      code: 'DEPENDENCY_FAILED',
      message: `dependency ${a.id} ended FAILED`,
    });
    const cRow = await waitForWorkload(h, c.id, (r) => r.status === 'CANCELLED', 'c cancelled');
    expect(cRow.error).toMatchObject({
      code: 'DEPENDENCY_FAILED',
      message: `dependency ${b.id} ended CANCELLED`,
    });
    expect(cRow.finished_at).not.toBeNull();
    expect((await eventsOf(c.id)).map((e) => `${e.from_status}>${e.to_status}`)).toEqual([
      'null>PENDING',
      'PENDING>CANCELLED',
    ]);
    // The run-anyway dependent of b runs once b has ended, seeing no result.
    const assigned = await worker.waitForAssignment(runs.id);
    expect(assigned.dependencies).toEqual({ [b.id]: null });
    await waitFor(
      () =>
        [b.id, c.id].every((id) => seen.includes(`${id}:PENDING>CANCELLED`)) ? true : undefined,
      { message: 'the cancellations announced on niyanta.events' },
    );
  });

  it('cancels at once a dependent whose dependency had already failed', async () => {
    const a = step();
    await submit(h, a);
    await runToEnd(a, 'failed');
    await waitForWorkload(h, a.id, (r) => r.status === 'FAILED', 'a failed');
    const d = step({ dependsOn: [a.id] });
    const e = step({ dependsOn: [d.id] });
    // The notices that answer the submitters (an API's POST) show what was recorded.
    const notify = SUBJECTS.ingested(uuidv7());
    const noticed: Partial<WorkloadV1>[] = [];
    const sub = h.nc.subscribe(notify, {
      callback: (_err, m) => {
        const n = decode('ingested', m.data);
        if (n.ok) noticed.push(...(n.value.workloads as Partial<WorkloadV1>[]));
      },
    });
    await h.nc.flush();
    for (const s of [d, e])
      await publishOne(h.js, {
        kind: 'submission',
        subject: SUBJECTS.submit(DEFAULT_TENANT),
        message: s,
        headers: { [INGEST_NOTIFY_HEADER]: notify },
      });
    const row = await waitForWorkload(h, e.id, (r) => r.status === 'CANCELLED', 'e cancelled');
    expect(row.error).toMatchObject({ message: `dependency ${d.id} ended CANCELLED` });
    expect(await workload(h, d.id)).toMatchObject({ status: 'CANCELLED' });
    await waitFor(() => noticed.length === 2, { timeoutMs: 10_000 });
    sub.unsubscribe();
    const byId = new Map(noticed.map((w) => [w.id, w]));
    for (const [s, dep] of [
      [d, a],
      [e, d],
    ] as const)
      expect(byId.get(s.id)).toMatchObject({
        status: 'CANCELLED',
        error: {
          code: 'DEPENDENCY_FAILED',
          message: `dependency ${dep.id} ended ${dep === a ? 'FAILED' : 'CANCELLED'}`,
        },
      });
  });

  it('rejects a broker submission naming an unknown dependency, with the reason', async () => {
    const a = step();
    await submit(h, a);
    const missing = uuidv7();
    const d = step({ dependsOn: [a.id, missing] });
    const ack = await submit(h, d);
    const rejected = await waitFor(
      () =>
        h.db
          .selectFrom('rejected_submissions')
          .select('reason')
          .where('stream_seq', '=', ack.seq)
          .executeTakeFirst(),
      { message: 'the submission rejected' },
    );
    expect(rejected.reason).toMatch(/^UNKNOWN_DEPENDENCY: \/dependsOn\/1 names workload /);
    expect(await workload(h, d.id)).toBeUndefined();
    expect(rejected.reason).toContain(missing);
  });

  it('keeps a paused dependent waiting when it is resumed', async () => {
    const a = step({ type: 'nobody-runs-this' });
    const d = step({ dependsOn: [a.id] });
    await submit(h, a);
    await submit(h, d);
    await waitForWorkload(h, d.id, (r) => r.deps_waiting === 1, 'd waiting');
    const command = (cmd: 'pause' | 'resume') =>
      publishOne(h.js, {
        kind: 'command',
        subject: SUBJECTS.command(DEFAULT_TENANT),
        message: { ...envelope(), workloadId: d.id, command: cmd },
      });
    await command('pause');
    await waitForWorkload(h, d.id, (r) => r.status === 'PAUSED', 'd paused');
    await command('resume');
    const row = await waitForWorkload(h, d.id, (r) => r.status === 'PENDING', 'd resumed');
    expect(row).toMatchObject({
      parked: true,
      deps_waiting: 1,
      pending_reason: 'waiting for 1 of 1 dependencies',
    });
  });

  it('lets a dependent cancelled while waiting and retried wait only for what has not ended', async () => {
    const a = step();
    const b = step({ type: 'nobody-runs-this' });
    const d = step({ dependsOn: [a.id, b.id] });
    for (const s of [a, b, d]) await submit(h, s);
    await waitForWorkload(h, d.id, (r) => r.deps_waiting === 2, 'd waiting');
    const command = (cmd: 'cancel' | 'retry') =>
      publishOne(h.js, {
        kind: 'command',
        subject: SUBJECTS.command(DEFAULT_TENANT),
        message: { ...envelope(), workloadId: d.id, command: cmd },
      });
    await command('cancel');
    await waitForWorkload(h, d.id, (r) => r.status === 'CANCELLED', 'd cancelled');
    await runToEnd(a, 'succeeded', 1);
    await waitForWorkload(h, a.id, (r) => r.status === 'COMPLETED', 'a completed');
    await command('retry');
    const row = await waitForWorkload(h, d.id, (r) => r.status === 'PENDING', 'd retried');
    expect(row).toMatchObject({
      parked: true,
      deps_waiting: 1,
      pending_reason: 'waiting for 1 of 2 dependencies',
    });
  });

  it('changes the dependents in the very statement that ends the dependency, or not at all', async () => {
    const a = step({ type: 'nobody-runs-this' });
    const d = step({ dependsOn: [a.id] });
    await submit(h, a);
    await submit(h, d);
    await waitForWorkload(h, d.id, (r) => r.deps_waiting === 1, 'd waiting');
    // As if the process died before COMMIT: nothing of either change remains.
    await h.db
      .transaction()
      .execute(async (trx) => {
        await sql`update workloads set status = 'COMPLETED', parked = false, finished_at = now()
          where id = ${a.id}`.execute(trx);
        const inside = await trx
          .selectFrom('workloads')
          .select(['deps_waiting', 'parked'])
          .where('id', '=', d.id)
          .executeTakeFirstOrThrow();
        expect(inside).toEqual({ deps_waiting: 0, parked: false });
        throw new Error('rolled back');
      })
      .catch((err: unknown) => {
        if ((err as Error).message !== 'rolled back') throw err;
      });
    expect(await workload(h, d.id)).toMatchObject({ deps_waiting: 1, parked: true });
    expect(await workload(h, a.id)).toMatchObject({ status: 'PENDING' });
  });

  it('leaves workloads waiting on dependencies out of the queue and of the parked rows a growing fleet reads', async () => {
    const { rows } = await sql<{ n: number }>`
      with ins as (
        insert into workloads (id, tenant, type, status, attempt, priority, max_attempts, input,
          pending_reason, parked, deps_waiting, on_dependency_failure)
        select gen_random_uuid(), ${DEFAULT_TENANT}, 'waits-a-lot', 'PENDING', 0, 1000, 1, '1',
          'waiting for 1 of 1 dependencies', true, 1, 'cancel'
        from generate_series(1, 5000)
        returning 1
      ) select count(*)::int as n from ins`.execute(h.db);
    expect(rows[0]!.n).toBe(5000);
    const step = await unparkFitting(
      h.db,
      'waits-a-lot',
      [{ cpu: 64, memoryMb: 65536, gpu: 8 }],
      null,
    );
    expect(step).toEqual({ scanned: 0, last: null, unparked: 0 });
    const plan = await sql<{ 'QUERY PLAN': string }>`
      explain select id from workloads
      where status = 'PENDING' and parked and deps_waiting = 0 and type = 'waits-a-lot'
      order by id limit 10`.execute(h.db);
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('workloads_parked');
  });

  it('carries dependency results within a budget, naming those left out', async () => {
    const small = step();
    const big = step();
    const last = step();
    const d = step({ dependsOn: [small.id, big.id, last.id] });
    for (const s of [small, big, last]) await submit(h, s);
    await runToEnd(small, 'succeeded', 'x');
    await runToEnd(big, 'succeeded', 'y'.repeat(200));
    await runToEnd(last, 'succeeded', 'z');
    await waitForWorkload(h, last.id, (r) => r.status === 'COMPLETED', 'last completed');
    await submit(h, d);
    await worker.waitForAssignment(d.id);
    // In dependsOn order: what fits goes in, what would pass the budget is named instead.
    const out = await loadDependencyResults(h.db, [d.id], 100);
    expect(out.get(d.id)).toEqual({
      dependencies: { [small.id]: 'x', [last.id]: 'z' },
      dependenciesOmitted: [big.id],
    });
    expect((await loadDependencyResults(h.db, [d.id])).get(d.id)?.dependencies[big.id]).toBe(
      'y'.repeat(200),
    );
  });
});
