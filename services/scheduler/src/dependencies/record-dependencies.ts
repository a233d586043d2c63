import type { WorkloadRow } from '@niyanta/db';
import { WORKLOAD_STATUS } from '@niyanta/messages';
import type { SubmissionV1 } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Executor } from '../workload-core/statements/executor.js';
import type { Transition } from '../workload-core/transition.js';
import { DEFAULT_ON_DEPENDENCY_FAILURE, hasDependencies } from './waiting.js';

/**
 * Records the dependencies of workloads just inserted, in the ingest transaction that inserted
 * them (inserted PENDING and parked, see `waitingOnDependencies`): their edges, how many are not
 * met, `has_dependents` on what they depend on (whose end then runs the bookkeeping, migration
 * 0015), and the end of every dependency that has already ended, through the same SQL function
 * the trigger calls (a COMPLETED one is met at once; a FAILED or CANCELLED one cancels them or
 * lets them run). The dependencies are locked (FOR SHARE, in id order) before their status is
 * read: a completion racing this transaction either committed first (its status is read here)
 * or waits for this commit (and its trigger then sees the edges).
 *
 * `inserted` are the rows the insert returned; only those whose submission has dependencies are
 * touched. Returns their rows as they are now (still PENDING, or CANCELLED).
 */
export async function recordDependencies(
  trx: Executor,
  submissions: readonly SubmissionV1[],
  inserted: readonly Transition[],
): Promise<Map<string, WorkloadRow>> {
  const insertedIds = new Set(inserted.map((t) => t.row.id));
  const items = submissions.filter((s) => hasDependencies(s) && insertedIds.has(s.id));
  if (items.length === 0) return new Map();
  const edges = items.flatMap((s) => {
    const unique = [...new Set(s.dependsOn!.map((d) => d.toLowerCase()))];
    return unique.map((dep, position) => ({
      workload_id: s.id,
      depends_on: dep,
      position,
      ref: s.dependencyRefs?.[dep] ?? null,
    }));
  });
  const ids = items.map((s) => s.id);
  const deps = [...new Set(edges.map((e) => e.depends_on))].sort();
  await sql`
    insert into workload_dependencies (workload_id, depends_on, position, ref)
    select v.workload_id, v.depends_on, v.position, v.ref
    from jsonb_to_recordset(${JSON.stringify(edges)}::jsonb)
      as v(workload_id uuid, depends_on uuid, position int, ref text)
    on conflict do nothing`.execute(trx);
  await sql`
    update workloads w set deps_waiting = v.n, on_dependency_failure = v.mode
    from jsonb_to_recordset(${JSON.stringify(
      items.map((s) => ({
        id: s.id,
        n: new Set(s.dependsOn!.map((d) => d.toLowerCase())).size,
        mode: s.onDependencyFailure ?? DEFAULT_ON_DEPENDENCY_FAILURE,
      })),
    )}::jsonb) as v(id uuid, n int, mode text)
    where w.id = v.id and w.id = any(${ids}::uuid[])`.execute(trx);
  const { rows: locked } = await sql<{ id: string; status: string; has_dependents: boolean }>`
    select id, status, has_dependents from workloads
    where id = any(${deps}::uuid[]) order by id for share`.execute(trx);
  const unflagged = locked.filter((r) => !r.has_dependents).map((r) => r.id);
  if (unflagged.length > 0)
    await sql`update workloads set has_dependents = true
      where id = any(${unflagged}::uuid[])`.execute(trx);
  const ended = locked.filter((r) => ENDED.has(r.status));
  // One dependency after another, in id order: each may cancel dependents whose own end (their
  // trigger) goes on down the graph, inside this transaction.
  for (const r of ended)
    await sql`select niyanta_dependency_ended(${r.id}::uuid, ${r.status})`.execute(trx);
  // A dependency admitted a moment ago that is not there (an item of the same batch that
  // PostgreSQL refused when ingest inserted the batch one by one) never runs: as if cancelled.
  const present = new Set(locked.map((r) => r.id));
  for (const d of deps.filter((id) => !present.has(id)))
    await sql`select niyanta_dependency_ended(${d}::uuid, ${WORKLOAD_STATUS.CANCELLED})`.execute(
      trx,
    );
  const { rows } = await sql<WorkloadRow>`
    select * from workloads where id = any(${ids}::uuid[])`.execute(trx);
  return new Map(rows.map((r) => [r.id, r]));
}

const ENDED: ReadonlySet<string> = new Set([
  WORKLOAD_STATUS.COMPLETED,
  WORKLOAD_STATUS.FAILED,
  WORKLOAD_STATUS.CANCELLED,
]);

/**
 * The ingest's transitions after `recordDependencies`: a row still PENDING shows how many
 * dependencies it waits for; one cancelled at once (a dependency had already failed) gets its
 * own `PENDING → CANCELLED` transition after its `submitted` one.
 */
export function afterDependencies(
  pending: Transition[],
  now: ReadonlyMap<string, WorkloadRow>,
): Transition[] {
  const cancelled: Transition[] = [];
  if (now.size === 0) return cancelled;
  for (const t of pending) {
    const row = now.get(t.row.id);
    if (row === undefined) continue;
    if (row.status === WORKLOAD_STATUS.PENDING) {
      t.row = row;
      delete t.workload;
    } else {
      const error = row.error as { message?: string } | null;
      cancelled.push({
        row,
        from: WORKLOAD_STATUS.PENDING,
        reason: error?.message ?? null,
        eventWorkerId: null,
      });
    }
  }
  return cancelled;
}
