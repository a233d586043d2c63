import { randomHexPooled } from './random.js';
import { headers } from '@nats-io/transport-node';
import type { MsgHdrs } from '@nats-io/transport-node';

const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Header carrying W3C trace context on every Niyanta message. */
export const TRACEPARENT_HEADER = 'traceparent';

/**
 * A W3C `traceparent` for a new span: it continues `parent`'s trace when one is given and valid,
 * so one trace follows a workload from submission to completion.
 */
export function childTraceparent(parent?: string | null): string {
  const match = parent ? TRACEPARENT_RE.exec(parent) : null;
  const traceId = match?.[1] ?? randomHexPooled(16);
  const flags = match?.[3] ?? '01';
  return `00-${traceId}-${randomHexPooled(8)}-${flags}`;
}

/** NATS headers with a `traceparent` continuing `parent` (or starting a trace). */
export function traceHeaders(parent?: string | null): MsgHdrs {
  const h = headers();
  h.set(TRACEPARENT_HEADER, childTraceparent(parent));
  return h;
}

/** The `traceparent` of a received message, if any. */
export function traceparentOf(h: MsgHdrs | undefined): string | undefined {
  const value = h?.get(TRACEPARENT_HEADER);
  return value && TRACEPARENT_RE.test(value) ? value : undefined;
}
