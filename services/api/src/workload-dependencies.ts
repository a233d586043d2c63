import type { Database } from '@niyanta/db';
import type { WorkloadV1 } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/** Dependents GET /v1/workloads/{id} lists at most (the oldest). */
export const DEPENDENTS_SHOWN = 100;

/**
 * The workload with its place in a dependency graph, each field only when it has something to
 * say (a workload outside any graph reads as before): `dependsOn` (in submission order) and
 * `onDependencyFailure` when it has dependencies, `dependents` (the oldest
 * {@link DEPENDENTS_SHOWN}) when some workload depends on it. One query.
 */
export async function withDependencies(
  db: Kysely<Database>,
  workload: WorkloadV1,
): Promise<WorkloadV1> {
  const { rows } = await sql<{
    depends_on: string[] | null;
    dependents: string[] | null;
    mode: 'cancel' | 'run' | null;
  }>`
    select
      (select array_agg(depends_on::text order by position) from workload_dependencies
        where workload_id = ${workload.id}::uuid) as depends_on,
      (select array_agg(workload_id::text order by workload_id) from (
        select workload_id from workload_dependencies where depends_on = ${workload.id}::uuid
        order by workload_id limit ${DEPENDENTS_SHOWN}) d) as dependents,
      (select on_dependency_failure from workloads where id = ${workload.id}::uuid) as mode`.execute(
    db,
  );
  const row = rows[0];
  if (row === undefined || (row.depends_on === null && row.dependents === null)) return workload;
  const out: WorkloadV1 = { ...workload };
  if (row.depends_on !== null) out.dependsOn = row.depends_on;
  if (row.dependents !== null) out.dependents = row.dependents;
  if (row.mode !== null) out.onDependencyFailure = row.mode;
  return out;
}
