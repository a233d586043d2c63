import type { ColumnType, Generated } from 'kysely';

/**
 * Messages a consumer gave up on, with the reason. Written by the service that consumes them (the
 * scheduler for the worker's, from their announcements on niyanta.dead.<stream>).
 */
export interface DeadLettersTable {
  id: Generated<string>;
  /** The stream, e.g. NIYANTA_COMPLETE. */
  stream: string;
  /** The durable consumer, e.g. scheduler-complete. */
  consumer: string;
  /** The subject it arrived on, escaped so that PostgreSQL can store it. */
  subject: string;
  /** A bigint: read as a string. */
  stream_seq: string | number;
  msg_id: string | null;
  tenant: string | null;
  /** NATS headers, name to values, escaped. Read parsed, written as JSON text. */
  headers: ColumnType<Record<string, string[]> | null, string | null, string | null>;
  /** The raw body, byte-exact. */
  data: ColumnType<Buffer, Buffer | Uint8Array, Buffer | Uint8Array>;
  error: string;
  deliveries: number;
  first_seen_at: ColumnType<Date, Date | string | undefined, never>;
  last_seen_at: ColumnType<Date, Date | string | undefined, Date | string>;
}
