import type { Database } from '@niyanta/db';
import type { Kysely, Selectable } from 'kysely';
import type { DeadLettersTable } from '@niyanta/db';
import { waitFor } from './wait-for.js';

/** Waits until the consumer has recorded the message at `streamSeq` as a dead letter; returns the row. */
export function deadLetterRow(
  db: Kysely<Database>,
  consumer: string,
  streamSeq: number,
  timeoutMs?: number,
): Promise<Selectable<DeadLettersTable>> {
  return waitFor(
    () =>
      db
        .selectFrom('dead_letters')
        .selectAll()
        .where('consumer', '=', consumer)
        .where('stream_seq', '=', streamSeq)
        .executeTakeFirst(),
    { message: `the dead letter of ${consumer} at stream sequence ${streamSeq}`, timeoutMs },
  );
}
