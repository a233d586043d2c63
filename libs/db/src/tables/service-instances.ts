import type { ColumnType } from 'kysely';

/**
 * The running instances of every service. Each instance writes only its own row (a heartbeat every
 * few seconds, deleted when it stops): one writer per row.
 */
export interface ServiceInstancesTable {
  instance_id: string;
  service: string;
  host: string;
  pid: number;
  /** `leader` or `standby` for led services, `member` for the others. */
  role: string;
  /** bigint: pg returns it as text. The leader's epoch; null otherwise. */
  epoch: ColumnType<string | null, string | number | null, string | number | null>;
  started_at: ColumnType<Date, Date | string | undefined, Date | string>;
  heard_at: ColumnType<Date, Date | string | undefined, Date | string>;
}
