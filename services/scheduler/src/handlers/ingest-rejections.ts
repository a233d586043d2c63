import type { JsMsg } from '@nats-io/jetstream';
import { SUBJECTS, envelope, escapeUnstorable, traceparentOf } from '@niyanta/messages';
import type { FieldError, Outgoing } from '@niyanta/messages';
import type { Executor } from '../workload-core/statements/executor.js';

const RAW_MAX_BYTES = 64 * 1024;

/** A submission refused, with why, for rejected_submissions and niyanta.rejected. */
export interface Rejection {
  msg: JsMsg;
  tenant: string | null;
  reason: string;
  errors: FieldError[];
  raw: string;
}

/**
 * What a rejection records of a message, storable by PostgreSQL whatever arrived (a NUL in the
 * Nats-Msg-Id, the subject or a parser's message would fail the insert, and the batch with it).
 */
function recordOf(r: Rejection) {
  const msgId = r.msg.headers?.get('Nats-Msg-Id');
  return {
    subject: escapeUnstorable(r.msg.subject),
    tenant: r.tenant === null ? null : escapeUnstorable(r.tenant),
    msgId: msgId ? escapeUnstorable(msgId) : null,
    reason: escapeUnstorable(r.reason),
    errors: r.errors.map((e) => ({
      path: escapeUnstorable(e.path),
      message: escapeUnstorable(e.message),
    })),
    raw: storableRaw(r.raw),
  };
}

/** Text safe for a PostgreSQL text column, cut at 64 KiB of UTF-8. */
function storableRaw(raw: string): string {
  let text = raw.replaceAll('\u0000', '\uFFFD');
  if (Buffer.byteLength(text) > RAW_MAX_BYTES) {
    // Cutting bytes may split a character: its remains decode to U+FFFD, which is fine for a record.
    text = Buffer.from(text).subarray(0, RAW_MAX_BYTES).toString('utf8');
  }
  return text;
}

/** Records rejections in rejected_submissions, once per stream message. */
export async function insertRejections(
  trx: Executor,
  rejected: readonly Rejection[],
): Promise<void> {
  if (rejected.length === 0) return;
  await trx
    .insertInto('rejected_submissions')
    .values(
      rejected.map((r) => {
        const record = recordOf(r);
        return {
          subject: record.subject,
          tenant: record.tenant,
          stream_seq: r.msg.seq,
          msg_id: record.msgId,
          reason: record.reason,
          errors: JSON.stringify(record.errors),
          raw: record.raw,
        };
      }),
    )
    .onConflict((oc) => oc.columns(['subject', 'stream_seq']).doNothing())
    .execute();
}

/** The niyanta.rejected records of rejections. */
export function rejectedMessages(rejected: readonly Rejection[]): Outgoing<'rejected'>[] {
  return rejected.map((r) => {
    const record = recordOf(r);
    return {
      kind: 'rejected',
      subject: SUBJECTS.rejected,
      // One record per stream message even when redelivered after a crash.
      msgId: `rejected:${record.subject}:${r.msg.seq}`,
      traceparent: traceparentOf(r.msg.headers),
      message: {
        ...envelope(),
        subject: record.subject,
        tenant: record.tenant,
        streamSeq: r.msg.seq,
        msgId: record.msgId,
        reason: record.reason,
        errors: record.errors,
        raw: record.raw,
      },
    };
  });
}
