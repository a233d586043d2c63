import { createDb } from '@niyanta/db';
import type { Database, WorkloadRow } from '@niyanta/db';
import { DEFAULT_TENANT, envelope, isActiveStatus, uuidv7 } from '@niyanta/messages';
import type { CompletionV1, SubmissionV1, WorkloadStatus } from '@niyanta/messages';
import { createTestDatabase } from '@niyanta/testing';
import fc from 'fast-check';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Change } from '../src/workload-core/change.js';
import { completionChange } from '../src/workload-core/decisions/completion.js';
import { FENCE, fence } from '../src/workload-core/decisions/fence.js';
import { placementChange } from '../src/workload-core/decisions/placement.js';
import type { ProgressUpdate } from '../src/workload-core/decisions/run-update.js';
import { applyChanges } from '../src/workload-core/statements/apply-changes.js';
import { applySucceeded } from '../src/workload-core/statements/complete-succeeded.js';
import type { Executor } from '../src/workload-core/statements/executor.js';
import { FENCE_APPLIES } from '../src/workload-core/statements/fence-condition.js';
import { insertSubmissions } from '../src/workload-core/statements/insert-submissions.js';
import { applyPlacements } from '../src/workload-core/statements/place.js';
import { readWorkloads } from '../src/workload-core/statements/read-workloads.js';
import { applyProgress } from '../src/workload-core/statements/store-progress.js';
import { inRolledBack } from './rolled-back.js';

// Each statement that carries out a decision without reading the row is held here to agree with
// the decision on rows drawn at random: the fast path and the decision it stands for say the same.

const STATUSES: WorkloadStatus[] = [
  'PENDING',
  'SCHEDULED',
  'RUNNING',
  'PAUSED',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
];

/** A row drawn at random, within the table's checks (a request or parking only where allowed). */
interface RowSpec {
  status: WorkloadStatus;
  attempt: number;
  worker: string | null;
  progress: { fraction: number; message: string | null } | null;
  startedAnHourAgo: boolean;
  requestedAction: 'cancel' | 'pause' | null;
  parked: boolean;
  pendingReason: string | null;
}

const worker = fc.constantFrom('w1', 'w2');
const rowSpec: fc.Arbitrary<RowSpec> = fc
  .record({
    status: fc.constantFrom(...STATUSES),
    attempt: fc.integer({ min: 0, max: 3 }),
    worker: fc.option(worker, { nil: null }),
    progress: fc.option(
      fc.record({
        fraction: fc.constantFrom(0, 0.25, 0.5),
        message: fc.option(fc.constantFrom('step 1', 'half'), { nil: null }),
      }),
      { nil: null },
    ),
    startedAnHourAgo: fc.boolean(),
    requestedAction: fc.constantFrom('cancel' as const, 'pause' as const, null),
    parked: fc.boolean(),
    pendingReason: fc.option(fc.constant('waiting'), { nil: null }),
  })
  .map((r) => ({
    ...r,
    requestedAction: isActiveStatus(r.status) ? r.requestedAction : null,
    parked: r.status === 'PENDING' ? r.parked : false,
  }));

/** Inserts one workload per spec, in one statement; returns their ids in order. */
async function insertRows(db: Executor, specs: readonly RowSpec[]): Promise<string[]> {
  const ids = specs.map(() => uuidv7());
  if (specs.length === 0) return ids;
  const records = JSON.stringify(
    specs.map((r, i) => ({
      id: ids[i],
      status: r.status,
      attempt: r.attempt,
      worker_id: r.worker,
      progress: r.progress,
      started: r.startedAnHourAgo,
      requested_action: r.requestedAction,
      parked: r.parked,
      pending_reason: r.pendingReason,
    })),
  );
  await sql`insert into workloads (id, tenant, type, status, attempt, worker_id, priority,
      max_attempts, input, progress, started_at, updated_at, created_at, requested_action, parked,
      pending_reason)
    select v.id, ${DEFAULT_TENANT}, 'noop', v.status, v.attempt, v.worker_id, 0, 3, '{}',
      nullif(v.progress, 'null'::jsonb),
      case when v.started then now() - interval '1 hour' end,
      now() - interval '1 hour', now() - interval '2 hours', v.requested_action, v.parked,
      v.pending_reason
    from jsonb_to_recordset(${records}::jsonb) as v(id uuid, status text, attempt int,
      worker_id text, progress jsonb, started boolean, requested_action text, parked boolean,
      pending_reason text)`.execute(db);
  return ids;
}

/** What a statement left of a row and its events, with the id left out (twins differ in it). */
async function outcome(db: Executor, id: string) {
  const rows = await readWorkloads(db, [id]);
  const { id: _id, ...row } = rows.get(id) as WorkloadRow;
  const events = await db
    .selectFrom('workload_events')
    .select(['from_status', 'to_status', 'attempt', 'reason', 'worker_id'])
    .where('workload_id', '=', id)
    .orderBy('id')
    .execute();
  return { row, events };
}

describe('the workload core statements agree with their decisions', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Kysely<Database>;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb(database.url, { max: 2 });
  });
  afterAll(async () => {
    await db.destroy();
    await database[Symbol.asyncDispose]();
  });

  const message = fc.record({ attempt: fc.integer({ min: 0, max: 3 }), workerId: worker });

  it('FENCE_APPLIES and the progress statement let through exactly what fence() applies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(rowSpec, message), { minLength: 1, maxLength: 25 }),
        async (cases) => {
          await inRolledBack(db, async (trx) => {
            const ids = await insertRows(
              trx,
              cases.map(([r]) => r),
            );
            const expected = ids.filter((_, i) => {
              const [r, m] = cases[i]!;
              const row = { status: r.status, attempt: r.attempt, worker_id: r.worker };
              return fence(row, m) === FENCE.apply;
            });
            const records = JSON.stringify(
              cases.map(([, m], i) => ({ id: ids[i], attempt: m.attempt, worker_id: m.workerId })),
            );
            const { rows } = await sql<{ id: string }>`
              select w.id from workloads w
              join jsonb_to_recordset(${records}::jsonb) as v(id uuid, attempt int, worker_id text)
                on v.id = w.id
              where ${FENCE_APPLIES}`.execute(trx);
            expect(rows.map((r) => r.id).sort()).toEqual([...expected].sort());
            const updates: ProgressUpdate[] = cases.map(([, m], i) => ({
              ...envelope(),
              workloadId: ids[i]!,
              attempt: m.attempt,
              workerId: m.workerId,
              kind: 'progress',
              progress: { fraction: 0.75, message: 'stored' },
            }));
            const stored = await applyProgress(trx, updates);
            expect([...stored.keys()].sort()).toEqual([...expected].sort());
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a success recorded unread is the change completionChange makes, as applyChanges applies it', async () => {
    const success = fc.record({
      attempt: fc.integer({ min: 0, max: 3 }),
      workerId: worker,
      result: fc.oneof(
        fc.constant(undefined),
        fc.constant(null),
        fc.integer(),
        fc.record({ ok: fc.boolean() }),
      ),
      // The worker's clock: before the row existed, within its life, or ahead of the database.
      startedAt: fc.option(fc.integer({ min: -3 * 3600, max: 3600 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(rowSpec, success), { minLength: 1, maxLength: 20 }),
        async (cases) => {
          await inRolledBack(db, async (trx) => {
            const specs = cases.map(([r]) => r);
            // Twins: one row for the statement, one for the decision.
            const fast = await insertRows(trx, specs);
            const slow = await insertRows(trx, specs);
            const now = Date.now();
            const completion = (id: string, c: (typeof cases)[number][1]): CompletionV1 => ({
              ...envelope(),
              workloadId: id,
              attempt: c.attempt,
              workerId: c.workerId,
              outcome: 'succeeded',
              ...(c.result === undefined ? {} : { result: c.result }),
              ...(c.startedAt === undefined
                ? {}
                : { startedAt: new Date(now + c.startedAt * 1000).toISOString() }),
            });
            const applied = await applySucceeded(
              trx,
              cases.map(([, c], i) => completion(fast[i]!, c)),
            );
            const rows = await readWorkloads(trx, slow);
            const changes: Change[] = [];
            cases.forEach(([, c], i) => {
              const row = rows.get(slow[i]!)!;
              const msg = completion(slow[i]!, c);
              if (fence(row, msg) !== FENCE.apply) return;
              changes.push(completionChange(row, msg, { baseMs: 1000, maxMs: 60_000 }));
            });
            const decided = await applyChanges(trx, changes);
            const appliedFast = new Set(applied.map((t) => fast.indexOf(t.row.id)));
            const appliedSlow = new Set(decided.map((t) => slow.indexOf(t.row.id)));
            expect([...appliedFast].sort()).toEqual([...appliedSlow].sort());
            for (const i of cases.keys()) {
              expect(await outcome(trx, fast[i]!)).toEqual(await outcome(trx, slow[i]!));
            }
            for (const t of applied) {
              const twin = decided.find((d) => d.row.id === slow[fast.indexOf(t.row.id)]);
              expect([t.from, t.reason, t.eventWorkerId]).toEqual([
                twin?.from,
                twin?.reason,
                twin?.eventWorkerId,
              ]);
              const step = (s: typeof t.startStep) =>
                s && [s.from, s.reason, s.eventWorkerId, s.row.status, s.row.worker_id];
              expect(step(t.startStep)).toEqual(step(twin?.startStep));
            }
          });
        },
      ),
      { numRuns: 30 },
    );
  });

  it('a placement recorded is the change placementChange makes, as applyChanges applies it', async () => {
    const placement = fc.record({ attempt: fc.integer({ min: 0, max: 3 }), workerId: worker });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(rowSpec, placement), { minLength: 1, maxLength: 20 }),
        async (cases) => {
          await inRolledBack(db, async (trx) => {
            const specs = cases.map(([r]) => r);
            const fast = await insertRows(trx, specs);
            const slow = await insertRows(trx, specs);
            const placed = await applyPlacements(
              trx,
              cases.map(([, p], i) => ({ id: fast[i]!, ...p })),
            );
            const decided = await applyChanges(
              trx,
              cases.map(([, p], i) => placementChange({ id: slow[i]!, ...p })),
            );
            expect(placed.map((t) => fast.indexOf(t.row.id)).sort()).toEqual(
              decided.map((t) => slow.indexOf(t.row.id)).sort(),
            );
            for (const i of cases.keys()) {
              expect(await outcome(trx, fast[i]!)).toEqual(await outcome(trx, slow[i]!));
            }
          });
        },
      ),
      { numRuns: 30 },
    );
  });

  it('a submission placed at ingest is the submission inserted, then placementChange applied', async () => {
    const submission = fc.record({
      priority: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
      maxAttempts: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
      labels: fc.option(fc.constant({ team: 'a' }), { nil: undefined }),
      workerId: worker,
    });
    await fc.assert(
      fc.asyncProperty(fc.array(submission, { minLength: 1, maxLength: 10 }), async (cases) => {
        await inRolledBack(db, async (trx) => {
          const of = (c: (typeof cases)[number], id: string): SubmissionV1 => ({
            ...envelope(),
            id,
            type: 'noop',
            input: {},
            ...(c.priority === undefined ? {} : { priority: c.priority }),
            ...(c.maxAttempts === undefined ? {} : { maxAttempts: c.maxAttempts }),
            ...(c.labels === undefined ? {} : { labels: c.labels }),
          });
          const item = (c: (typeof cases)[number], id: string, workerId: string | undefined) => ({
            tenant: DEFAULT_TENANT,
            submission: of(c, id),
            traceParent: null,
            workerId,
            pendingReason: null,
            parked: false,
          });
          const fast = cases.map(() => uuidv7());
          const slow = cases.map(() => uuidv7());
          const placed = await insertSubmissions(
            trx,
            cases.map((c, i) => item(c, fast[i]!, c.workerId)),
          );
          await insertSubmissions(
            trx,
            cases.map((c, i) => item(c, slow[i]!, undefined)),
          );
          const decided = await applyChanges(
            trx,
            cases.map((c, i) =>
              placementChange({ id: slow[i]!, attempt: 0, workerId: c.workerId }),
            ),
          );
          expect(placed.placed).toHaveLength(cases.length);
          for (const i of cases.keys()) {
            const f = await outcome(trx, fast[i]!);
            const sl = await outcome(trx, slow[i]!);
            expect(f).toEqual(sl);
            const t = placed.placed.find((p) => p.row.id === fast[i]);
            const d = decided.find((p) => p.row.id === slow[i]);
            expect([t?.from, t?.reason, t?.eventWorkerId]).toEqual([
              d?.from,
              d?.reason,
              d?.eventWorkerId,
            ]);
          }
        });
      }),
      { numRuns: 20 },
    );
  });
});
