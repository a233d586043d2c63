import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './database.js';

/** One dead letter to write; texts already storable (see escapeUnstorable in @niyanta/messages). */
export interface DeadLetterRecord {
  stream: string;
  consumer: string;
  subject: string;
  streamSeq: number;
  msgId: string | null;
  tenant: string | null;
  headers: Record<string, string[]> | null;
  data: Uint8Array;
  error: string;
  deliveries: number;
}

/**
 * Writes dead letters in one statement. The same message again (consumer and stream sequence)
 * updates its row: deliveries, error and last_seen_at; first_seen_at stays.
 */
export async function recordDeadLetters(
  db: Kysely<Database> | Transaction<Database>,
  letters: readonly DeadLetterRecord[],
): Promise<void> {
  if (letters.length === 0) return;
  // One row per (consumer, stream_seq): ON CONFLICT cannot update a row twice in a statement.
  const unique = new Map(letters.map((l) => [`${l.consumer}\n${l.streamSeq}`, l]));
  await db
    .insertInto('dead_letters')
    .values(
      [...unique.values()].map((l) => ({
        stream: l.stream,
        consumer: l.consumer,
        subject: l.subject,
        stream_seq: l.streamSeq,
        msg_id: l.msgId,
        tenant: l.tenant,
        headers: l.headers === null ? null : JSON.stringify(l.headers),
        data: Buffer.from(l.data.buffer, l.data.byteOffset, l.data.byteLength),
        error: l.error,
        deliveries: l.deliveries,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['consumer', 'stream_seq']).doUpdateSet((eb) => ({
        deliveries: eb.ref('excluded.deliveries'),
        error: eb.ref('excluded.error'),
        last_seen_at: sql<Date>`now()`,
      })),
    )
    .execute();
}
