// Test-only stand-in for the scheduler's ingest: consumes NIYANTA_SUBMIT with the scheduler's
// durable consumer, inserts PENDING rows and sends the ingest notices they ask for, so
// the API's 201 path can be exercised without importing another service.
import { toWorkload } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import {
  CONSUMERS,
  INGEST_NOTIFY_HEADER,
  decode,
  encode,
  ensureConsumer,
  envelope,
  ingestNotifySubject,
  lastToken,
} from '@niyanta/messages';
import type { WorkloadV1 } from '@niyanta/messages';
import { DeadLetters, consumeBatches, databaseDeadLetterSink } from '@niyanta/runtime';
import type { BatchConsumer, Logger, Nats } from '@niyanta/runtime';
import type { Kysely } from 'kysely';

/**
 * `gate` is awaited before each batch: a test holds submissions un-acked behind it (stopping and
 * restarting the consumer instead would strand the server's outstanding pull until ack_wait).
 */
export function startTestIngester(
  nats: Nats,
  db: Kysely<Database>,
  log: Logger,
  gate: () => Promise<void> = async () => undefined,
): BatchConsumer {
  const def = CONSUMERS.schedulerIngest;
  return consumeBatches({
    js: nats.js,
    stream: def.stream,
    consumer: def.durable_name,
    ensure: () => ensureConsumer(nats.jsm, def),
    log,
    deadLetters: new DeadLetters({
      stream: def.stream,
      consumer: def.durable_name,
      sink: databaseDeadLetterSink({ db, js: nats.js, log }),
      log,
    }),
    maxDeliver: 5,
    handle: async (msgs) => {
      await gate();
      const rows = [];
      const good = [];
      const notifyById = new Map<string, string>();
      for (const m of msgs) {
        const decoded = decode('submission', m.data);
        if (!decoded.ok) {
          m.term();
          continue;
        }
        const s = decoded.value;
        good.push(m);
        const notify = ingestNotifySubject(m.headers?.get(INGEST_NOTIFY_HEADER) || undefined);
        if (notify !== undefined) notifyById.set(s.id, notify);
        rows.push({
          id: s.id,
          tenant: lastToken(m.subject) ?? 'default',
          type: s.type,
          status: 'PENDING',
          priority: s.priority ?? 500,
          max_attempts: s.maxAttempts ?? 3,
          input: JSON.stringify(s.input ?? null),
          labels: JSON.stringify(s.labels ?? {}),
          requirements: JSON.stringify(s.requirements ?? {}),
          run_at: s.runAt ?? null,
          timeout_seconds: s.timeoutSeconds ?? null,
          idempotency_key: s.idempotencyKey ?? null,
          submitted_by: s.submittedBy ?? null,
        });
      }
      const inserted =
        rows.length === 0
          ? []
          : await db
              .insertInto('workloads')
              .values(rows)
              .onConflict((oc) => oc.doNothing())
              .returningAll()
              .execute();
      for (const m of good) m.ack();
      // One notice per subject asked for, as the scheduler sends them.
      const bySubject = new Map<string, [WorkloadV1, ...WorkloadV1[]]>();
      for (const row of inserted) {
        const subject = notifyById.get(row.id);
        if (subject === undefined) continue;
        const list = bySubject.get(subject);
        if (list === undefined) bySubject.set(subject, [toWorkload(row)]);
        else list.push(toWorkload(row));
      }
      for (const [subject, workloads] of bySubject) {
        nats.nc.publish(subject, encode('ingested', { ...envelope(), workloads }));
      }
    },
  });
}
