import type { JsMsg } from '@nats-io/jetstream';
import { INGEST_NOTIFY_HEADER, enveloped, ingestNotifySubject } from '@niyanta/messages';
import type { IngestedV1, Outgoing, WorkloadV1 } from '@niyanta/messages';
import { workloadOf } from './transitions.js';
import type { Transition } from './transitions.js';

/**
 * The notice subject each submission of a batch asked for in its INGEST_NOTIFY_HEADER, by
 * workload id (the API names its own; submissions from anyone else ask for none).
 */
export function noticeSubjects(
  accepted: readonly { msg: JsMsg; submission: { id: string } }[],
): Map<string, string> {
  const subjects = new Map<string, string>();
  for (const { msg, submission } of accepted) {
    const subject = ingestNotifySubject(msg.headers?.get(INGEST_NOTIFY_HEADER) || undefined);
    if (subject !== undefined) subjects.set(submission.id, subject);
  }
  return subjects;
}

/**
 * One `ingested` notice per subject asked for, with the workloads of `submitted` (their
 * `submitted` step, as committed) whose submissions asked for it: one message per batch and API
 * instance, where each instance used to receive every status event of every workload.
 */
export function ingestNotices(
  submitted: readonly Transition[],
  subjects: ReadonlyMap<string, string>,
): Outgoing<'ingested'>[] {
  if (subjects.size === 0) return [];
  const bySubject = new Map<string, [WorkloadV1, ...WorkloadV1[]]>();
  for (const t of submitted) {
    const subject = subjects.get(t.row.id);
    if (subject === undefined) continue;
    const workloads = bySubject.get(subject);
    if (workloads === undefined) bySubject.set(subject, [workloadOf(t)]);
    else workloads.push(workloadOf(t));
  }
  return [...bySubject].map(([subject, workloads]) => ({
    kind: 'ingested',
    subject,
    msgId: null,
    // Built from typed rows, like status events: no second ajv run; the API validates on receipt.
    validated: true,
    message: enveloped<IngestedV1>({ workloads }),
  }));
}
