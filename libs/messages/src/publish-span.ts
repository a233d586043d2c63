import {
  SpanKind,
  activeSpan,
  startSpan,
  traceparentOfSpan,
  tracingEnabled,
} from '@niyanta/telemetry';
import type { MsgHdrs } from '@nats-io/transport-node';
import { TRACEPARENT_HEADER, traceHeaders } from './trace.js';
import type { MessageKind } from './validation.js';

/**
 * Kinds whose publish is a span of the workload's trace. Left out: the live feeds (heartbeats,
 * events, logs, notices), which would bury a trace in spans, and assignments, whose messages
 * carry the runs of many workloads (the scheduler makes an `assign` span per run instead).
 */
const TRACED_KINDS: ReadonlySet<MessageKind> = new Set<MessageKind>([
  'submission',
  'runUpdate',
  'completion',
  'completionBatch',
  'checkpoint',
  'command',
  'control',
  'workerDead',
  'spawn',
]);

/**
 * The trace headers of a message. With tracing on, a traced kind's publish is a producer span
 * (child of the active span, else of `parent`) and the header names it, so the consumer's span
 * becomes its child; otherwise the header continues `parent`'s trace with a new span id.
 */
export function publishTraceHeaders(
  kind: MessageKind,
  subject: string,
  parent: string | null | undefined,
): MsgHdrs {
  if (!tracingEnabled() || !TRACED_KINDS.has(kind)) return traceHeaders(parent);
  const span = startSpan(`publish ${kind}`, {
    parent: activeSpan() === undefined ? parent : undefined,
    kind: SpanKind.PRODUCER,
    attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject },
  });
  const h = traceHeaders(parent);
  if (span === undefined) return h;
  h.set(TRACEPARENT_HEADER, traceparentOfSpan(span));
  span.end();
  return h;
}
