import type { AssignmentV1 } from '@niyanta/messages';
import type { Executor } from './workload-core/statements/executor.js';

/** The sealed secrets an assignment carries. */
export type AssignmentSecrets = NonNullable<AssignmentV1['assignments'][number]['secrets']>;

/**
 * The sealed secrets of placed workloads, copied from the `secrets` table exactly as stored: the
 * scheduler holds no key and never opens them. A secret deleted since the submission is left
 * out; the worker then fails the run with SECRET_NOT_AVAILABLE.
 */
export async function loadSealedSecrets(
  db: Executor,
  rows: readonly { id: string; tenant: string; secrets: readonly string[] }[],
): Promise<Map<string, AssignmentSecrets>> {
  const out = new Map<string, AssignmentSecrets>();
  const wanted = rows.filter((r) => r.secrets.length > 0);
  if (wanted.length === 0) return out;
  const tenants = [...new Set(wanted.map((r) => r.tenant))];
  const names = [...new Set(wanted.flatMap((r) => r.secrets))];
  const stored = await db
    .selectFrom('secrets')
    .select(['tenant', 'name', 'key_id', 'sealed'])
    .where('tenant', 'in', tenants)
    .where('name', 'in', names)
    .execute();
  const byKey = new Map(stored.map((s) => [`${s.tenant}\u0000${s.name}`, s]));
  for (const row of wanted) {
    const items: AssignmentSecrets = [];
    for (const name of row.secrets) {
      const s = byKey.get(`${row.tenant}\u0000${name}`);
      if (s !== undefined) items.push({ name, keyId: s.key_id, sealed: s.sealed });
    }
    out.set(row.id, items);
  }
  return out;
}
