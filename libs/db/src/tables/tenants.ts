import type { ColumnType } from 'kysely';

/** Tenants: every workload belongs to one. `default` always exists. */
export interface TenantsTable {
  id: string;
  name: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}
