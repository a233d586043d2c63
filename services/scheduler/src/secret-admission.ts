import type { Database } from '@niyanta/db';
import type { Kysely } from 'kysely';

/** A submission as secret admission sees it: its tenant and the secret names it lists. */
export interface SecretAdmittable {
  tenant: string;
  submission: { secrets?: string[] };
}

/**
 * Broker submissions naming a secret their tenant does not have, with the reason (the API's 400
 * says the same). One query for the batch; the `secrets` table is the API's, this only reads it.
 */
export async function unknownSecretRefusals<T extends SecretAdmittable>(
  db: Kysely<Database>,
  items: readonly T[],
): Promise<Map<T, string>> {
  const refused = new Map<T, string>();
  const wanted = items.filter((i) => (i.submission.secrets?.length ?? 0) > 0);
  if (wanted.length === 0) return refused;
  const rows = await db
    .selectFrom('secrets')
    .select(['tenant', 'name'])
    .where('tenant', 'in', [...new Set(wanted.map((i) => i.tenant))])
    .where('name', 'in', [...new Set(wanted.flatMap((i) => i.submission.secrets ?? []))])
    .execute();
  const known = new Set(rows.map((r) => `${r.tenant}\u0000${r.name}`));
  for (const item of wanted) {
    const missing = (item.submission.secrets ?? []).filter(
      (name) => !known.has(`${item.tenant}\u0000${name}`),
    );
    if (missing.length > 0) {
      refused.set(
        item,
        `UNKNOWN_SECRET: tenant ${item.tenant} has no secret ${missing.map((m) => `"${m}"`).join(', ')}: create it with PUT /v1/secrets/{name}, then resubmit`,
      );
    }
  }
  return refused;
}
