import type { JsMsg } from '@nats-io/jetstream';
import { recordDeadLetters } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { deadLetterFromAnnouncement } from '@niyanta/runtime';
import type { DeadLetters } from '@niyanta/runtime';
import type { Kysely } from 'kysely';
import type { Logger } from '../logger.js';

/**
 * `scheduler-dead-letters`: writes the dead_letters rows of consumers that have no database (the
 * worker's assignments and control messages) from their announcements on niyanta.dead.<stream>.
 * Announcements whose row is written already (`recorded`) are only acked.
 */
export function createDeadLetterRecordHandler(deps: {
  db: Kysely<Database>;
  log: Logger;
  /** Where announcements that do not decode go (this consumer's own dead letters). */
  deadLetters: DeadLetters;
}) {
  return async (msgs: JsMsg[]): Promise<void> => {
    const decoded = await deps.deadLetters.decode('deadLetter', msgs);
    const letters = decoded
      .filter(({ value }) => !value.recorded)
      .map(({ value }) => deadLetterFromAnnouncement(value));
    await recordDeadLetters(deps.db, letters);
    for (const l of letters) {
      deps.log.warn(
        { consumer: l.consumer, stream: l.stream, streamSeq: l.streamSeq, reason: l.error },
        'dead letter of a consumer without a database recorded',
      );
    }
    for (const { msg } of decoded) msg.ack();
  };
}
