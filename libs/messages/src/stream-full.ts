import { JetStreamApiError } from '@nats-io/jetstream';

/** The error code of a PubAck refused by the stream's store (with `discard: new`: it is full). */
const STREAM_STORE_FAILED = 10077;

/**
 * Whether a publish was refused because its stream is at its `max_msgs` or `max_bytes` limit:
 * nothing was stored, and the same message can be published again once consumers catch up.
 */
export function isStreamFullError(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    err.code === STREAM_STORE_FAILED &&
    /maximum (messages|bytes)/i.test(err.message)
  );
}
