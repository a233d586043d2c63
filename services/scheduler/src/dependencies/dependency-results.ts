import { sql } from 'kysely';
import type { Executor } from '../workload-core/statements/executor.js';

/**
 * Bytes (as JSON text) of dependency results one assignment carries at most: the rest are named
 * in `dependenciesOmitted`, for the handler to read through the API. Keeps a run with large
 * dependency results within the broker's max_payload, as checkpoints past the inline limit go to
 * the blob store.
 */
export const DEPENDENCY_RESULTS_MAX_BYTES = 256 * 1024;

/** What an assignment carries of a run's dependencies. */
export interface DependencyResults {
  /** Result by dependency id (null for one that ended without). */
  dependencies: Record<string, unknown>;
  /** Dependency id by the ref it had in its batch. */
  dependencyRefs?: Record<string, string>;
  dependenciesOmitted?: string[];
}

/**
 * The results of the dependencies of placed runs that have any (`on_dependency_failure` is set
 * only on those, so a run without dependencies costs no read), in `dependsOn` order, within
 * {@link DEPENDENCY_RESULTS_MAX_BYTES} per run. One query for the cycle.
 */
export async function loadDependencyResults(
  db: Executor,
  ids: readonly string[],
  maxBytes: number = DEPENDENCY_RESULTS_MAX_BYTES,
): Promise<Map<string, DependencyResults>> {
  const out = new Map<string, DependencyResults>();
  if (ids.length === 0) return out;
  const { rows } = await sql<{
    workload_id: string;
    depends_on: string;
    ref: string | null;
    bytes: number | null;
    result: unknown;
  }>`
    select d.workload_id, d.depends_on, d.ref, x.bytes,
      case when x.bytes <= ${maxBytes} then x.result end as result
    from workload_dependencies d
    left join lateral (
      select w.result, octet_length(coalesce(w.result, 'null'::jsonb)::text) as bytes
      from workloads w where w.id = d.depends_on
    ) x on true
    where d.workload_id = any(${ids}::uuid[])
    order by d.workload_id, d.position`.execute(db);
  const used = new Map<string, number>();
  for (const r of rows) {
    let entry = out.get(r.workload_id);
    if (entry === undefined) out.set(r.workload_id, (entry = { dependencies: {} }));
    if (r.ref !== null) (entry.dependencyRefs ??= {})[r.ref] = r.depends_on;
    const bytes = r.bytes ?? 4;
    const total = (used.get(r.workload_id) ?? 0) + bytes;
    if (total > maxBytes) {
      (entry.dependenciesOmitted ??= []).push(r.depends_on);
      continue;
    }
    used.set(r.workload_id, total);
    entry.dependencies[r.depends_on] = r.result ?? null;
  }
  return out;
}
