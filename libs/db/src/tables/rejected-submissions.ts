import type { ColumnType, Generated, JSONColumnType } from 'kysely';

/** Broker submissions the scheduler refused, with the reason. Written only by the scheduler. */
export interface RejectedSubmissionsTable {
  id: Generated<string>;
  subject: string;
  tenant: string | null;
  stream_seq: string | number;
  msg_id: string | null;
  reason: string;
  errors: JSONColumnType<{ path: string; message: string }[], string, string>;
  raw: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}
