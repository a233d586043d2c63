import type { ColumnType } from 'kysely';

/** What a schedule does while its previous firing's workload has not ended. */
export type ScheduleOverlap = 'skip' | 'allow' | 'cancelPrevious';

/** Cron schedules of a tenant. Written only by the API. */
export interface SchedulesTable {
  id: string;
  tenant: string;
  /** Unique per tenant. */
  name: string;
  /** Five fields or an `@hourly`-style name (libs/schedules validates it). */
  cron: string;
  /** IANA zone name. */
  timezone: string;
  /** The submission body each firing submits (no idempotencyKey: the firing sets it). */
  workload: ColumnType<Record<string, unknown>, string, string>;
  overlap: ScheduleOverlap;
  catch_up: number;
  paused: boolean;
  created_by: string | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** Per schedule, how far its firings are handled. Written only by the scheduler. */
export interface ScheduleCursorsTable {
  schedule_id: string;
  /** Every fire time up to and including this one is handled: fired, skipped or missed. */
  handled_until: ColumnType<Date, Date | string, Date | string>;
  /** The first fire time after handled_until (null: it never fires again). */
  next_fire_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  /** The latest fire time submitted. */
  last_fire_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** The schedule's updated_at this cursor was computed from. */
  seen_updated_at: ColumnType<Date, Date | string, Date | string>;
}
