import type { JsMsg } from '@nats-io/jetstream';
import { SUBJECTS } from '@niyanta/messages';
import type { CompletionV1 } from '@niyanta/messages';
import type { DeadLetters, DecodedMessage } from '@niyanta/runtime';

const COMPLETIONS_PREFIX = SUBJECTS.completionsAll.slice(0, -1); // 'niyanta.completions.'

/**
 * Decodes single completions (`niyanta.complete.<workloadId>`) and batches of one worker
 * (`niyanta.completions.<workerId>`) into one list; an invalid message is a dead letter.
 */
export async function decodeCompletions(
  msgs: readonly JsMsg[],
  deadLetters: DeadLetters,
): Promise<DecodedMessage<CompletionV1>[]> {
  const singles: JsMsg[] = [];
  const batches: JsMsg[] = [];
  for (const m of msgs) (m.subject.startsWith(COMPLETIONS_PREFIX) ? batches : singles).push(m);
  const out: DecodedMessage<CompletionV1>[] =
    singles.length === 0 ? [] : await deadLetters.decode('completion', singles);
  if (batches.length === 0) return out;
  for (const { msg, value } of await deadLetters.decode('completionBatch', batches)) {
    for (const item of value.completions) {
      out.push({
        msg,
        value: {
          schemaVersion: 1,
          id: value.id,
          time: value.time,
          workerId: value.workerId,
          ...item,
        },
      });
    }
  }
  return out;
}
