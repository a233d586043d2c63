import { headers as natsHeaders } from '@nats-io/transport-node';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { Nats } from '@niyanta/runtime';
import type { ReplayV1 } from '@niyanta/messages';
import { BrokerPayloadTooLargeError, UnavailableError } from '../errors.js';

/** Headers that instruct the broker rather than describe the message: never replayed. */
const BROKER_HEADER_PREFIX = 'nats-';
const MSG_ID_HEADER = 'Nats-Msg-Id';

/** A recorded message to publish again, byte-exact. */
export interface Original {
  subject: string;
  data: Uint8Array;
  /** The original's headers, name to values (null: it had none). */
  headers: Record<string, string[]> | null;
  /** The Nats-Msg-Id of the replay: the same for every replay of one record. */
  replayMsgId: string;
}

/**
 * The headers of a replay: the original's, minus every `Nats-*` header (its Nats-Msg-Id would be
 * dropped as a duplicate within the stream's duplicate window; Nats-Expected-* would be refused
 * once the stream moved on), plus the replay's own Nats-Msg-Id.
 */
export function replayHeaders(original: Original): MsgHdrs {
  const out = natsHeaders();
  for (const [name, values] of Object.entries(original.headers ?? {})) {
    if (name.toLowerCase().startsWith(BROKER_HEADER_PREFIX)) continue;
    for (const value of values) out.append(name, value);
  }
  out.set(MSG_ID_HEADER, original.replayMsgId);
  return out;
}

const headersLength = (headers: MsgHdrs): number =>
  (headers as MsgHdrs & { encode(): Uint8Array }).encode().length;

/**
 * Publishes `original` to JetStream on its subject and awaits the PubAck. 413 when it would pass
 * the connected server's max_payload, 503 when the broker does not store it.
 */
export async function republish(nats: Nats, original: Original, what: string): Promise<ReplayV1> {
  const headers = replayHeaders(original);
  const limit = nats.nc.info?.max_payload;
  const size = original.data.length + headersLength(headers);
  if (limit !== undefined && size > limit)
    throw new BrokerPayloadTooLargeError(what, '', size, limit);
  try {
    const ack = await nats.js.publish(original.subject, original.data, { headers });
    return {
      subject: original.subject,
      stream: ack.stream,
      streamSeq: ack.seq,
      msgId: original.replayMsgId,
      duplicate: ack.duplicate,
    };
  } catch (err) {
    throw new UnavailableError(
      `the message broker did not store the replay of ${what} on ${original.subject}: nothing was replayed; retry shortly`,
      { cause: err },
    );
  }
}
