import type { JsMsg } from '@nats-io/jetstream';
import { INGEST_NOTIFY_HEADER, enveloped, ingestNotifySubject } from '@niyanta/messages';
import type { IngestedV1, Outgoing } from '@niyanta/messages';
import { workloadOf } from './workload-core/transition.js';
import type { Transition } from './workload-core/transition.js';

/**
 * A notice is split before its workloads would pass about this much JSON: NATS refuses a
 * message over max_payload (1 MiB by default), and one refused would answer none of its POSTs.
 */
export const NOTICE_MESSAGE_BYTES = 512 * 1024;
/** What a workload adds to its submission's JSON (status, times, defaults): an estimate. */
const WORKLOAD_EXTRA_BYTES = 512;

/** A submission's ask for a notice: where, and about how large its workload is. */
export interface NoticeRequest {
  subject: string;
  bytes: number;
}

/**
 * The notice each submission of a batch asked for in its INGEST_NOTIFY_HEADER, by workload id
 * (the API names its own subject; submissions from anyone else ask for none).
 */
export function noticeRequests(
  accepted: readonly { msg: JsMsg; submission: { id: string } }[],
): Map<string, NoticeRequest> {
  const requests = new Map<string, NoticeRequest>();
  for (const { msg, submission } of accepted) {
    const subject = ingestNotifySubject(msg.headers?.get(INGEST_NOTIFY_HEADER) || undefined);
    if (subject !== undefined) {
      requests.set(submission.id, { subject, bytes: msg.data.length + WORKLOAD_EXTRA_BYTES });
    }
  }
  return requests;
}

type Chunk = IngestedV1['workloads'];

/**
 * The `ingested` notices asked for, with the workloads of `submitted` (their `submitted` step,
 * as committed): one message per batch and API instance (more past NOTICE_MESSAGE_BYTES), where
 * each instance used to receive every status event of every workload. A workload too large to
 * share a message goes as its id alone: its POST then reads it from PostgreSQL.
 */
export function ingestNotices(
  submitted: readonly Transition[],
  requests: ReadonlyMap<string, NoticeRequest>,
  maxBytes: number = NOTICE_MESSAGE_BYTES,
): Outgoing<'ingested'>[] {
  if (requests.size === 0) return [];
  const out: Outgoing<'ingested'>[] = [];
  const open = new Map<string, { workloads: Chunk; bytes: number }>();
  const close = (subject: string, workloads: Chunk) =>
    out.push({
      kind: 'ingested',
      subject,
      msgId: null,
      // Built from typed rows, like status events: no second ajv run; the API validates on receipt.
      validated: true,
      message: enveloped<IngestedV1>({ workloads }),
    });
  for (const t of submitted) {
    const request = requests.get(t.row.id);
    if (request === undefined) continue;
    const fits = request.bytes <= maxBytes;
    const item = fits ? workloadOf(t) : { id: t.row.id };
    const bytes = fits ? request.bytes : 64;
    const chunk = open.get(request.subject);
    if (chunk !== undefined && chunk.bytes + bytes <= maxBytes) {
      chunk.workloads.push(item);
      chunk.bytes += bytes;
      continue;
    }
    if (chunk !== undefined) close(request.subject, chunk.workloads);
    open.set(request.subject, { workloads: [item], bytes });
  }
  for (const [subject, chunk] of open) close(subject, chunk.workloads);
  return out;
}
