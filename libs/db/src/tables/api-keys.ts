import type { ColumnType } from 'kysely';

/** API keys: one tenant, one role; only a hash of the secret is kept. Written only by the API. */
export interface ApiKeysTable {
  /** The key's public id, also the first part of the key itself. */
  id: string;
  tenant: string;
  name: string;
  role: 'admin' | 'operator' | 'submitter' | 'viewer';
  /** Hex sha256 of the key's secret part. */
  secret_sha256: string;
  /** Key id (or `root`) that created it. */
  created_by: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  last_used_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}
