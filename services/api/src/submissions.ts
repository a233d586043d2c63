import { toWorkload } from '@niyanta/db';
import {
  INGEST_NOTIFY_HEADER,
  MessageTooLargeError,
  STREAMS,
  SUBJECTS,
  decode,
  isStreamFullError,
  publishAll,
  submissionMsgId,
  uuidv7,
} from '@niyanta/messages';
import type { Outgoing, SubmissionV1, WorkloadSubmissionV1, WorkloadV1 } from '@niyanta/messages';
import type { Nats } from '@niyanta/runtime';
import type { ApiContext } from './api-context.js';
import type { Principal } from './auth/principal.js';
import { checkPendingQuota } from './quotas.js';
import { checkSecretNames } from './secret-names.js';
import { resolveDependencies } from './submission-dependencies.js';
import type { SubmitContext } from './submit-context.js';
import { BrokerPayloadTooLargeError, UnavailableError } from './errors.js';
import { SUBMISSION_OUTCOME } from './metrics.js';
import { shownWorkload } from './shown-workload.js';
import { submittedWorkload } from './submitted-workload.js';
import { publishAndWait } from './wait-for-workloads.js';
import type { SubmitTarget } from './wait-for-workloads.js';
import { findWorkloads } from './workload-store.js';

export const DEFAULT_PRIORITY = 500;
export const DEFAULT_MAX_ATTEMPTS = 3;
/** Retry-After of a submission refused by a full submit queue: time for the ingest to drain it. */
const SUBMIT_QUEUE_FULL_RETRY_AFTER_S = 5;

/**
 * How one submission ended: `created` (in PostgreSQL under our id), `replayed` (its idempotency
 * key already named a workload), `submitted` (durable in the broker, not yet in PostgreSQL).
 */
export type SubmitResult =
  | { kind: 'created'; workload: WorkloadV1 }
  | { kind: 'replayed'; workload: WorkloadV1 }
  | { kind: 'submitted'; workload: WorkloadV1 };

interface Pending {
  index: number;
  submission: SubmissionV1;
  /** `duplicate` when the broker already held a submission with this key (inside its window). */
  target: SubmitTarget;
  /** The broker's copy, when a duplicate and it can still be read. */
  original?: SubmissionV1;
}

/** The submission envelope of a validated HTTP body: defaults applied, id chosen. */
export function toSubmission(
  body: WorkloadSubmissionV1,
  id: string,
  submittedBy?: string,
): SubmissionV1 {
  // Fields after a spread in one literal take V8's slow path (some 30 times slower, and this
  // runs per workload of a batch): spread last, then assign the defaults.
  const submission: SubmissionV1 = { schemaVersion: 1, id, ...body };
  submission.priority = body.priority ?? DEFAULT_PRIORITY;
  submission.maxAttempts = body.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (submittedBy !== undefined) submission.submittedBy = submittedBy;
  return submission;
}

/** JSON Pointer of the i-th submission in the request body: '' for a body of one. */
export type SubmissionPointer = (index: number) => string;

/**
 * Submits validated workloads: answers known idempotency keys from PostgreSQL, publishes the rest
 * with their acks awaited together, then waits up to SUBMIT_WAIT_MS for them to be ingested.
 * Throws `BrokerPayloadTooLargeError` (413) with nothing published when one is larger than the
 * broker's max_payload, naming it by `pointer`, and `UnavailableError` (503) when the broker
 * does not take them.
 */
export async function submitWorkloads(
  api: ApiContext,
  principal: Principal,
  bodies: readonly WorkloadSubmissionV1[],
  traceparent: string | undefined,
  pointer: SubmissionPointer = () => '',
): Promise<SubmitResult[]> {
  const ctx: SubmitContext = { ...api, tenant: principal.tenant, submittedBy: principal.actor };
  const { tenant } = ctx;
  const results: (SubmitResult | undefined)[] = bodies.map(() => undefined);
  const keys = bodies.flatMap((b) => (b.idempotencyKey === undefined ? [] : [b.idempotencyKey]));
  if (keys.length > 0) {
    const rows = await findWorkloads(ctx.connections.db(), tenant, [], keys);
    const byKey = new Map(rows.map((r) => [r.idempotency_key, toWorkload(r)]));
    bodies.forEach((b, i) => {
      const existing = b.idempotencyKey === undefined ? undefined : byKey.get(b.idempotencyKey);
      if (existing !== undefined) results[i] = { kind: 'replayed', workload: existing };
    });
  }

  let pending: Pending[] = [];
  bodies.forEach((body, index) => {
    if (results[index] !== undefined) return;
    const submission = toSubmission(body, uuidv7(), ctx.submittedBy);
    const target: SubmitTarget = { id: submission.id };
    if (body.idempotencyKey !== undefined) target.idempotencyKey = body.idempotencyKey;
    pending.push({ index, submission, target });
  });

  if (pending.length > 0) {
    pending = await resolveDependencies(
      ctx,
      bodies,
      results.map((r) => r?.workload.id),
      pending,
      pointer,
    );
    await checkSecretNames(
      ctx,
      pending.map((p) => ({ index: p.index, body: bodies[p.index]! })),
      pointer,
    );
    // All or nothing: a batch that would pass a quota is refused whole, before anything is sent.
    await checkPendingQuota(ctx, pending.length);
    const found = await publishAndWait(
      ctx,
      pending.map((p) => p.target),
      ctx.submitWaitMs,
      () => publish(ctx, pending, traceparent, pointer),
    );
    pending.forEach((p, j) => {
      const workload = found[j];
      const duplicate = p.target.duplicate === true;
      if (workload !== undefined) {
        const replay = duplicate || workload.id !== p.submission.id;
        results[p.index] = { kind: replay ? 'replayed' : 'created', workload };
        return;
      }
      const known = duplicate ? p.original : p.submission;
      if (known === undefined) {
        // The broker dropped ours as a duplicate and its copy is already consumed, yet the row is
        // not visible: the first submission is mid-ingest. A retry with the same key resolves it.
        throw new UnavailableError(
          `a submission with idempotency key "${p.submission.idempotencyKey}" is being processed right now: retry with the same key shortly`,
          { retryAfterSeconds: 1 },
        );
      }
      results[p.index] = {
        kind: duplicate ? 'replayed' : 'submitted',
        workload: submittedWorkload(known, tenant),
      };
    });
  }

  const out = results.map((r) => ({ ...r!, workload: shownWorkload(api, r!.workload) }));
  const accepted = out.filter((r) => r.kind !== 'replayed').length;
  ctx.metrics.submissions.inc({ outcome: SUBMISSION_OUTCOME.accepted }, accepted);
  ctx.metrics.submissions.inc({ outcome: SUBMISSION_OUTCOME.replayed }, out.length - accepted);
  return out;
}

async function publish(
  ctx: SubmitContext,
  pending: Pending[],
  traceparent: string | undefined,
  pointer: SubmissionPointer,
): Promise<void> {
  const nats = ctx.connections.nats();
  const subject = SUBJECTS.submit(ctx.tenant);
  // The scheduler tells this instance when the rows are in (see IngestWaiters).
  const headers = { [INGEST_NOTIFY_HEADER]: ctx.waiters.subject };
  const items: Outgoing<'submission'>[] = pending.map((p) => ({
    kind: 'submission',
    subject,
    message: p.submission,
    msgId: submissionMsgId(ctx.tenant, p.submission.id, p.submission.idempotencyKey),
    traceparent: traceparent ?? null,
    // The body passed the HTTP schema, whose fields are the submission's but for the id and
    // schemaVersion set here (a test holds the two schemas to that).
    validated: true,
    headers,
  }));
  let acks;
  try {
    acks = await publishAll(nats.js, items);
  } catch (err) {
    ctx.metrics.submissions.inc({ outcome: SUBMISSION_OUTCOME.refused }, pending.length);
    if (err instanceof MessageTooLargeError) {
      // publishAll sent none of them: a client error, not an outage.
      const path = pointer(pending[err.index]?.index ?? 0);
      const what = path === '' ? 'the submission' : `the submission at ${path}`;
      throw new BrokerPayloadTooLargeError(what, path, err.size, err.limit, { cause: err });
    }
    if (isStreamFullError(err)) {
      throw new UnavailableError(
        pending.length === 1
          ? 'the submit queue is full: nothing was accepted; retry after the time in Retry-After'
          : 'the submit queue is full: retry the batch after the time in Retry-After (give each workload an idempotencyKey so a retry cannot duplicate any)',
        { cause: err, retryAfterSeconds: SUBMIT_QUEUE_FULL_RETRY_AFTER_S },
      );
    }
    throw new UnavailableError(
      pending.length === 1
        ? 'the message broker did not accept the submission: nothing was accepted; retry shortly'
        : 'the message broker did not accept every submission: retry the batch shortly (give each workload an idempotencyKey so a retry cannot duplicate any)',
      { cause: err },
    );
  }
  // Only duplicates need more: one promise each, not one per submission.
  const originals: Promise<void>[] = [];
  acks.forEach((ack, j) => {
    if (ack.duplicate) originals.push(readOriginal(ctx, nats, pending[j]!, ack.seq));
  });
  await Promise.all(originals);
}

/** Marks `p` a duplicate and reads the id of the copy the broker kept (its ack's `seq`). */
async function readOriginal(
  ctx: SubmitContext,
  nats: Nats,
  p: Pending,
  seq: number,
): Promise<void> {
  p.target.duplicate = true;
  try {
    const stored = await nats.jsm.streams.getMessage(STREAMS.submit.name, { seq });
    const decoded = stored === null ? undefined : decode('submission', stored.data);
    if (decoded?.ok) {
      p.original = decoded.value;
      p.target.id = decoded.value.id;
    }
  } catch (err) {
    ctx.log.debug(
      { err, seq },
      'the original of a duplicate submission is no longer in the stream',
    );
  }
}
