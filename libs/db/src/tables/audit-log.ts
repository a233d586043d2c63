import type { ColumnType } from 'kysely';

/**
 * The audit log: an append-only hash chain over the installation, `hash = sha256(prev_hash ‖
 * canonical JSON of the entry)`. Written only by the API, and only by inserts.
 */
export interface AuditLogTable {
  seq: ColumnType<string, number | string, never>;
  at: ColumnType<Date, Date | string, never>;
  tenant: string | null;
  /** Key id, `root`, `anonymous` (auth disabled) or `unauthenticated`. */
  actor: string;
  action: string;
  target: string;
  /** The HTTP status the request was answered with. */
  outcome: number;
  prev_hash: string;
  hash: string;
}
