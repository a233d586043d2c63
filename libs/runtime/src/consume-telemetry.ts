import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { STREAMS, TRACEPARENT_HEADER, traceparentOf } from '@niyanta/messages';
import {
  SpanKind,
  failSpan,
  messagesConsumed,
  startSpan,
  traceparentOfSpan,
  tracingEnabled,
  watchConsumerLag,
  withActiveSpan,
} from '@niyanta/telemetry';
import type { Span } from '@niyanta/telemetry';

/**
 * The span name of handling a message of each stream, for the streams whose messages belong to
 * a workload's trace. The others (heartbeats, assignments: their runs carry their own context)
 * make no span.
 */
const SPAN_NAMES: ReadonlyMap<string, string> = new Map([
  [STREAMS.submit.name, 'ingest'],
  [STREAMS.complete.name, 'complete'],
  [STREAMS.checkpoint.name, 'checkpoint'],
  [STREAMS.run.name, 'run update'],
  [STREAMS.command.name, 'command'],
  [STREAMS.control.name, 'control'],
  [STREAMS.workerDead.name, 'worker dead'],
  [STREAMS.spawn.name, 'spawn'],
]);

/**
 * Wraps a consumer's batch handler with its telemetry: the consumed-messages counter and, with
 * tracing on, a consumer span per message of a traced stream, child of the publisher's span.
 * The message's `traceparent` header is replaced by its span's, so whatever the handler
 * publishes or stores from that header (a workload's trace_parent) continues from this span.
 */
export function instrumentHandler(
  stream: string,
  consumer: string,
  handle: (msgs: JsMsg[]) => Promise<void>,
): (msgs: JsMsg[]) => Promise<void> {
  const consumed = messagesConsumed.labels({ stream, consumer });
  const spanName = SPAN_NAMES.get(stream);
  return async (msgs) => {
    consumed.inc(msgs.length);
    if (spanName === undefined || !tracingEnabled()) return handle(msgs);
    const spans: Span[] = [];
    for (const msg of msgs) {
      const parent = traceparentOf(msg.headers);
      if (parent === undefined) continue;
      const span = startSpan(spanName, {
        parent,
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'nats',
          'messaging.destination.name': msg.subject,
          'messaging.consumer.group.name': consumer,
          'messaging.nats.stream_sequence': msg.seq,
        },
      });
      if (span === undefined) continue;
      msg.headers!.set(TRACEPARENT_HEADER, traceparentOfSpan(span));
      spans.push(span);
    }
    try {
      // A batch of one runs inside its span: its log lines and child spans join that trace.
      await withActiveSpan(msgs.length === 1 ? spans[0] : undefined, () => handle(msgs));
    } catch (err) {
      for (const span of spans) failSpan(span, err);
      throw err;
    } finally {
      for (const span of spans) span.end();
    }
  };
}

/** Reports the consumer's backlog (num_pending, num_ack_pending) at every metrics scrape. */
export function watchLag(
  stream: string,
  consumerName: string,
  current: () => Consumer | undefined,
): () => void {
  return watchConsumerLag(async () => {
    const consumer = current();
    if (consumer === undefined) throw new Error(`consumer ${consumerName} not started yet`);
    const info = await consumer.info();
    return {
      stream,
      consumer: consumerName,
      pending: info.num_pending,
      ackPending: info.num_ack_pending,
    };
  });
}
