import type { Database } from '@niyanta/db';
import type { Kysely } from 'kysely';

/** Tenants known to PostgreSQL, reloaded when a submission names one not seen yet. */
export class TenantCache {
  private known = new Set<string>();
  constructor(private readonly db: Kysely<Database>) {}

  async refresh(): Promise<void> {
    const rows = await this.db.selectFrom('tenants').select('id').execute();
    this.known = new Set(rows.map((r) => r.id));
  }

  has(tenant: string): boolean {
    return this.known.has(tenant);
  }
}
