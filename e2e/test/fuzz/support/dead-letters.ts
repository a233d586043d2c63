import type { JetStreamManager } from '@nats-io/jetstream';
import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/** How often a wait with a deadline looks again. */
const POLL_INTERVAL_MS = 100;

/**
 * The dead-letter contract of issue 18: a service records each message it refuses in
 * `dead_letters` (one row per consumer and stream sequence, with a non-empty `error`) and
 * announces it on `niyanta.dead.<stream>` (stream NIYANTA_DEAD).
 */
export const DEAD_STREAM = 'NIYANTA_DEAD';
/** SQLSTATE of a relation that does not exist. */
const UNDEFINED_TABLE = '42P01';
export const deadSubject = (stream: string) => `niyanta.dead.${stream}`;

/** One row of `dead_letters`, the columns the tests look at. */
export interface DeadLetter {
  stream: string;
  consumer: string;
  subject: string;
  stream_seq: number;
  error: string;
  deliveries: number;
}

/** The dead letters of these stream sequences of `stream`. */
export async function deadLettersOf(
  db: Kysely<Database>,
  stream: string,
  seqs: readonly number[],
): Promise<DeadLetter[]> {
  if (seqs.length === 0) return [];
  const { rows } = await sql<DeadLetter>`
    select stream, consumer, subject, stream_seq::float8 as stream_seq, error, deliveries
    from dead_letters
    where stream = ${stream} and stream_seq = any(${sql.val(seqs.map(String))}::bigint[])
  `.execute(db);
  return rows;
}

/** Rows of `dead_letters` per stream. */
export async function deadLetterCounts(db: Kysely<Database>): Promise<Record<string, number>> {
  const { rows } = await sql<{ stream: string; n: number }>`
    select stream, count(*)::int as n from dead_letters group by stream
  `.execute(db);
  return Object.fromEntries(rows.map((r) => [r.stream, r.n]));
}

/** Announcements per stream on `niyanta.dead.<stream>`; throws if NIYANTA_DEAD does not exist. */
export async function deadAnnouncements(jsm: JetStreamManager): Promise<Record<string, number>> {
  const info = await jsm.streams.info(DEAD_STREAM, { subjects_filter: 'niyanta.dead.>' });
  const out: Record<string, number> = {};
  for (const [subject, n] of Object.entries(info.state.subjects ?? {}))
    out[subject.slice('niyanta.dead.'.length)] = n;
  return out;
}

/**
 * Waits until `stream_seq` of `stream` is a dead letter with a non-empty error, and announced;
 * answers the row. The error says what is missing; a missing table fails at once.
 */
export async function waitForDeadLetter(
  db: Kysely<Database>,
  jsm: JetStreamManager,
  stream: string,
  seq: number,
  timeoutMs: number,
): Promise<DeadLetter> {
  const deadline = Date.now() + timeoutMs;
  let why = 'no row';
  for (;;) {
    let row: DeadLetter | undefined;
    try {
      [row] = await deadLettersOf(db, stream, [seq]);
      if (row === undefined) why = 'no row';
      else if (row.error.trim() === '') why = 'its row has an empty error';
      else if (((await deadAnnouncements(jsm))[stream] ?? 0) < 1)
        why = `it is not announced on ${deadSubject(stream)}`;
      else return row;
    } catch (err) {
      why = `${(err as Error).message}`;
      // No such table: it will not appear while the test waits.
      if ((err as { code?: string }).code === UNDEFINED_TABLE) break;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
  throw new Error(`message ${seq} of ${stream} is not a dead letter: ${why}`);
}
