import type { Database } from '@niyanta/db';
import type { Kysely } from 'kysely';
import { hasDependencies } from './waiting.js';

/** A submission as dependency admission sees it: its tenant, id and dependencies. */
export interface DependencyAdmittable {
  tenant: string;
  submission: { id: string; dependsOn?: string[] };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Broker submissions naming a dependency that is not a workload of their tenant, with the reason
 * (the API's 400 says the same, by the entry's index). A dependency is known if PostgreSQL has it
 * in the same tenant, or if it comes earlier in the same batch and is admitted: the API publishes
 * a batch graph dependencies first, so a batch can never form a cycle. One query for the batch.
 */
export async function unknownDependencyRefusals<T extends DependencyAdmittable>(
  db: Kysely<Database>,
  items: readonly T[],
): Promise<Map<T, string>> {
  const refused = new Map<T, string>();
  const wanted = items.filter((i) => hasDependencies(i.submission));
  if (wanted.length === 0) return refused;
  const ids = new Set<string>();
  for (const i of wanted)
    for (const d of i.submission.dependsOn!) if (UUID.test(d)) ids.add(d.toLowerCase());
  const rows =
    ids.size === 0
      ? []
      : await db
          .selectFrom('workloads')
          .select(['id', 'tenant'])
          .where('id', 'in', [...ids])
          .execute();
  const stored = new Map(rows.map((r) => [r.id, r.tenant]));
  // Admitted so far in this batch, in order: a dependency must come before its dependents.
  const earlier = new Map<string, string>();
  for (const item of items) {
    const deps = item.submission.dependsOn ?? [];
    const self = item.submission.id.toLowerCase();
    let reason: string | undefined;
    for (let j = 0; j < deps.length && reason === undefined; j++) {
      const dep = deps[j]!;
      const id = dep.toLowerCase();
      if (!UUID.test(dep)) {
        reason = `/dependsOn/${j} "${dep}" is not a workload id (refs are resolved by POST /v1/workloads/batch only)`;
      } else if (id === self) {
        reason = `/dependsOn/${j} names the workload itself`;
      } else if ((stored.get(id) ?? earlier.get(id)) !== item.tenant) {
        reason = `/dependsOn/${j} names workload ${dep}, which tenant ${item.tenant} does not have (a dependency must exist, or come earlier in the same batch)`;
      }
    }
    if (reason === undefined) earlier.set(self, item.tenant);
    else refused.set(item, `UNKNOWN_DEPENDENCY: ${reason}`);
  }
  return refused;
}
