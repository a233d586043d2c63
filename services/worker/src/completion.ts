import type { JetStreamClient } from '@nats-io/jetstream';
import { envelope, publishOne, SUBJECTS, validateMessage } from '@niyanta/messages';
import type { CompletionV1 } from '@niyanta/messages';
import { retryUntilDone } from '@niyanta/runtime';
import type { Logger } from './logger.js';

/** A completion without its envelope fields. */
export type CompletionBody = Omit<CompletionV1, 'schemaVersion' | 'id' | 'time'>;

/** A completion larger than this cannot be published (NATS's default max payload is 1 MiB). */
export const COMPLETION_MAX_BYTES = 900 * 1024;

/**
 * Publishes a completion and retries (with backoff) until the broker acks it: an outcome must
 * not be lost while the process lives. The message (and so its Nats-Msg-Id) is built once, so
 * a retry after a lost ack is dropped by the broker as a duplicate.
 */
export async function sendCompletion(
  js: JetStreamClient,
  body: CompletionBody,
  log: Logger,
  traceparent?: string,
): Promise<void> {
  const message = publishable({ ...envelope(), ...body }, log);
  const subject = SUBJECTS.complete(message.workloadId);
  await retryUntilDone(
    `publish completion of workload ${message.workloadId} attempt ${message.attempt}`,
    () => publishOne(js, { kind: 'completion', subject, message, traceparent }),
    { log, minMs: 100, maxMs: 5_000 },
  );
  log.debug(
    { workloadId: message.workloadId, attempt: message.attempt, outcome: message.outcome },
    'completion published',
  );
}

/**
 * A completion that can be published: one whose result breaks the schema or the size limit would
 * be retried forever, so it becomes a non-retryable failure saying why.
 */
function publishable(message: CompletionV1, log: Logger): CompletionV1 {
  const errors = validateMessage('completion', message);
  const bytes = errors.length === 0 ? Buffer.byteLength(JSON.stringify(message)) : 0;
  if (errors.length === 0 && bytes <= COMPLETION_MAX_BYTES) return message;
  const reason =
    errors.length > 0
      ? `is not a valid completion (${errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')})`
      : `is ${bytes} bytes, over the ${COMPLETION_MAX_BYTES}-byte limit of a message`;
  log.error(
    { workloadId: message.workloadId, attempt: message.attempt, outcome: message.outcome, reason },
    'completion cannot be published; recording a failure instead',
  );
  const { result: _result, ...rest } = message;
  return {
    ...rest,
    outcome: 'failed',
    error: {
      message: `The ${message.outcome} outcome of attempt ${message.attempt} ${reason}. Return a smaller result (store large data elsewhere and return a reference).`,
      code: bytes > COMPLETION_MAX_BYTES ? 'RESULT_TOO_LARGE' : 'INVALID_COMPLETION',
      retryable: false,
    },
  };
}
