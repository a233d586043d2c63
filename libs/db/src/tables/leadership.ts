import type { ColumnType } from 'kysely';

/**
 * Who leads each led service (scheduler, health-monitor), and since which takeover. Written only by
 * the instance taking over, as it takes over; the epoch grows by one each time.
 */
export interface LeadershipTable {
  service: string;
  /** bigint: pg returns it as text. */
  epoch: ColumnType<string, string | number, string | number>;
  instance_id: string;
  since: ColumnType<Date, Date | string | undefined, Date | string>;
}
