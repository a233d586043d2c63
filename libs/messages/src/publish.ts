import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import type { ApiError, JetStreamClient, PubAck } from '@nats-io/jetstream';
import { ClosedConnectionError, TimeoutError, createInbox } from '@nats-io/transport-node';
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { encode, utf8Bytes } from './codec.js';
import { MessageTooLargeError } from './errors.js';
import { messagesPublished } from '@niyanta/telemetry';
import { publishTraceHeaders } from './publish-span.js';
import type { MessageKind, MessageTypes } from './validation.js';

/** One message to publish to JetStream. */
export interface Outgoing<K extends MessageKind = MessageKind> {
  kind: K;
  subject: string;
  message: MessageTypes[K];
  /**
   * Nats-Msg-Id for broker-side dedupe; defaults to the message id when it has one. `null` sends
   * none: for messages a retry builds anew (a new id each time), where it can drop nothing and
   * only fills the stream's duplicate window.
   */
  msgId?: string | null;
  /** Trace to continue. */
  traceparent?: string | null;
  /**
   * Already checked against a schema with the same fields (a submission whose HTTP body was
   * validated), or built from typed values the schema cannot refuse (status events from rows):
   * published without a second ajv run. Consumers validate it all the same.
   */
  validated?: boolean;
  /** More headers, beside the trace context and the message id. */
  headers?: Readonly<Record<string, string>>;
}

const MSG_ID_HEADER = 'Nats-Msg-Id';
/** What `js.publish` waits for a PubAck unless the client was given another timeout. */
const DEFAULT_ACK_TIMEOUT_MS = 5_000;
const NO_RESPONDERS = 503;

/**
 * The lighter form of a message kind, sent when a message would pass the server's max_payload
 * (the fields left out are optional in the schema). Without one, such a message is refused with
 * `MessageTooLargeError`.
 * - A status event without its workload snapshot: readers look the workload up.
 * - A heartbeat whose runs carry only workload and attempt, no progress or start time: what
 *   liveness, reconciliation and free slots need. A run with both is about 110 bytes, so a
 *   worker with 10,000 slots (the most WORKER_SLOTS allows) would pass 1 MiB and stop beating,
 *   and be declared dead while it runs; without them its beat is about 600 KiB.
 */
const LIGHTER: { [K in MessageKind]?: (message: MessageTypes[K]) => MessageTypes[K] } = {
  event: ({ workload: _snapshot, ...rest }) => rest,
  heartbeat: ({ running, ...rest }) => ({
    ...rest,
    running: running.map(({ workloadId, attempt }) => ({ workloadId, attempt })),
  }),
};
/**
 * Room left under max_payload for the headers (trace context, message id, a few more): a body
 * this far under the limit is sent without measuring its headers.
 */
const HEADERS_ROOM_BYTES = 1024;

function body(item: Outgoing, message: unknown): Uint8Array {
  return item.validated ? utf8Bytes(JSON.stringify(message)) : encode(item.kind, message as never);
}

/** The headers' size on the wire (the client counts it against max_payload with the body). */
const headersLength = (headers: MsgHdrs): number =>
  (headers as MsgHdrs & { encode(): Uint8Array }).encode().length;

/**
 * The body and headers of a message. Throws `MessageTooLargeError` when they pass `maxPayload`
 * (the connected server's limit, when known): the message is refused where it is made, with its
 * size and the limit, never sent.
 */
function encoded(
  item: Outgoing,
  maxPayload: number | undefined,
  index = 0,
): { data: Uint8Array; headers: MsgHdrs } {
  let data = body(item, item.message);
  const lighter = LIGHTER[item.kind] as ((m: unknown) => unknown) | undefined;
  if (
    lighter !== undefined &&
    maxPayload !== undefined &&
    data.length > maxPayload - HEADERS_ROOM_BYTES
  ) {
    data = body(item, lighter(item.message));
  }
  const headers = publishTraceHeaders(item.kind, item.subject, item.traceparent);
  const msgID = item.msgId === undefined ? (item.message as { id?: string }).id : item.msgId;
  if (msgID) headers.set(MSG_ID_HEADER, msgID);
  if (item.headers !== undefined) {
    for (const [name, value] of Object.entries(item.headers)) headers.set(name, value);
  }
  if (maxPayload !== undefined && data.length > maxPayload - HEADERS_ROOM_BYTES) {
    const size = data.length + headersLength(headers);
    if (size > maxPayload)
      throw new MessageTooLargeError(item.kind, item.subject, size, maxPayload, index);
  }
  return { data, headers };
}

/** The PubAcks one `publishAll` call awaits: replies `first` … `first + acks.length - 1`. */
interface AckBatch {
  first: number;
  acks: PubAck[];
  left: number;
  subjects: readonly string[];
  resolve(acks: PubAck[]): void;
  reject(err: unknown): void;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * The PubAcks of one connection's `publishAll` calls, through one wildcard inbox subscription:
 * message n is published with the reply subject `<inbox>.<n>`. `js.publish` is a NATS request per
 * message instead (a mux entry, a promise, a timer and up to three Error objects with stacks
 * each); this costs a map entry per message and a timer per call: about 13 µs of CPU per
 * message against 40–60 µs (1,000-message batches on the project's 2-core machines).
 */
class AckInbox {
  private readonly prefix: string;
  private next = 0;
  private readonly waiting = new Map<number, AckBatch>();

  constructor(
    private readonly nc: NatsConnection,
    inboxPrefix: string | undefined,
  ) {
    this.prefix = `${createInbox(inboxPrefix)}.`;
    const sub = nc.subscribe(`${this.prefix}*`, {
      callback: (err, msg) => {
        if (!err) this.route(msg);
      },
    });
    // A closed connection sends no more acks: fail what waits now rather than at its timeout.
    void sub.closed.finally(() => {
      inboxes.delete(nc);
      for (const batch of new Set(this.waiting.values())) {
        this.fail(batch, new ClosedConnectionError());
      }
    });
  }

  publish(items: readonly Outgoing[], timeoutMs: number): Promise<PubAck[]> {
    return new Promise<PubAck[]>((resolve, reject) => {
      let messages: { data: Uint8Array; headers: MsgHdrs }[];
      try {
        // Every message is encoded and measured before the first is sent: one the server cannot
        // carry refuses the whole call, with nothing published.
        const maxPayload = this.nc.info?.max_payload;
        messages = items.map((item, i) => encoded(item, maxPayload, i));
      } catch (err) {
        reject(err);
        return;
      }
      const batch: AckBatch = {
        first: this.next,
        acks: new Array<PubAck>(items.length),
        left: items.length,
        subjects: items.map((item) => item.subject),
        resolve,
        reject,
      };
      this.next += items.length;
      try {
        messages.forEach(({ data, headers }, i) => {
          const token = batch.first + i;
          this.waiting.set(token, batch);
          this.nc.publish(items[i]!.subject, data, { headers, reply: `${this.prefix}${token}` });
        });
      } catch (err) {
        this.fail(batch, err);
        return;
      }
      batch.timer = setTimeout(() => this.fail(batch, new TimeoutError()), timeoutMs);
    });
  }

  private route(msg: Msg): void {
    const token = Number(msg.subject.slice(this.prefix.length));
    const batch = this.waiting.get(token);
    if (batch === undefined) return; // its call already failed (another ack, timeout)
    this.waiting.delete(token);
    const i = token - batch.first;
    let ack: PubAck;
    try {
      ack = parsePubAck(msg, batch.subjects[i]!);
    } catch (err) {
      this.fail(batch, err);
      return;
    }
    batch.acks[i] = ack;
    batch.left -= 1;
    if (batch.left === 0) {
      clearTimeout(batch.timer);
      batch.resolve(batch.acks);
    }
  }

  /** Rejects a call (as `Promise.all` over `js.publish` did: the first failure wins). */
  private fail(batch: AckBatch, err: unknown): void {
    clearTimeout(batch.timer);
    for (let token = batch.first; token < batch.first + batch.acks.length; token++) {
      if (this.waiting.get(token) === batch) this.waiting.delete(token);
    }
    batch.reject(err);
  }
}

/** What `js.publish` makes of a reply: the PubAck, or the error it throws. */
function parsePubAck(msg: Msg, subject: string): PubAck {
  if (msg.data.length === 0 && msg.headers?.code === NO_RESPONDERS) {
    throw new JetStreamError(
      `no JetStream stream took the message on ${subject} (no responders): are the streams created?`,
    );
  }
  const reply = msg.json<Partial<PubAck> & { error?: ApiError }>();
  if (reply.error) throw new JetStreamApiError(reply.error);
  if (!reply.stream || typeof reply.seq !== 'number')
    throw new JetStreamError(`invalid PubAck for a message on ${subject}: ${msg.string()}`);
  reply.duplicate ??= false;
  return reply as PubAck;
}

const inboxes = new WeakMap<NatsConnection, AckInbox>();

/**
 * Publishes many messages asynchronously and awaits the acks together: one round trip's latency
 * for the whole batch instead of one per message. Rejects with the first failure (an error
 * PubAck, no stream, a timeout after the client's timeout): retry with the same message ids.
 * Rejects with `MessageTooLargeError`, publishing none of them, when one would pass the server's
 * max_payload.
 */
export async function publishAll(
  js: JetStreamClient,
  items: readonly Outgoing[],
): Promise<PubAck[]> {
  if (items.length === 0) return [];
  // The client's connection is not in its type; a client without one (a test double) publishes
  // each message on its own as before.
  const nc = (js as { nc?: NatsConnection }).nc;
  if (nc === undefined) {
    const acks = await Promise.all(
      items.map((item) => {
        const { data, headers } = encoded(item, undefined);
        return js.publish(item.subject, data, { headers });
      }),
    );
    countPublished(items);
    return acks;
  }
  const options = js.getOptions();
  let inbox = inboxes.get(nc);
  if (inbox === undefined) {
    // The JetStream client's watcherPrefix is the connection's inboxPrefix unless set apart.
    inbox = new AckInbox(nc, options.watcherPrefix);
    inboxes.set(nc, inbox);
  }
  const acks = await inbox.publish(items, options.timeout ?? DEFAULT_ACK_TIMEOUT_MS);
  countPublished(items);
  return acks;
}

/** Adds published messages to their kinds' counters: one increment per kind of a batch. */
function countPublished(items: readonly Outgoing[]): void {
  let kind = items[0]?.kind;
  let run = 0;
  for (const item of items) {
    if (item.kind !== kind) {
      messagesPublished.inc({ kind }, run);
      kind = item.kind;
      run = 0;
    }
    run += 1;
  }
  if (kind !== undefined && run > 0) messagesPublished.inc({ kind }, run);
}

/** Publishes one message and awaits its ack. */
export async function publishOne<K extends MessageKind>(
  js: JetStreamClient,
  item: Outgoing<K>,
): Promise<PubAck> {
  const [ack] = await publishAll(js, [item as Outgoing]);
  return ack!;
}

/**
 * Publishes messages with core NATS, no PubAck: for live feeds whose record is elsewhere (status
 * events: PostgreSQL has them). A stream bound to the subject still stores them. Much cheaper
 * than `publishAll`: no request, inbox or timer per message. Throws after trying every message
 * if any was refused, naming how many.
 */
export function publishCore(nc: NatsConnection, items: readonly Outgoing[]): void {
  let failed = 0;
  let first: unknown;
  for (const [i, item] of items.entries()) {
    // One message refused (over max_payload, say) must not hold back the others.
    try {
      const { data, headers } = encoded(item, nc.info?.max_payload, i);
      nc.publish(item.subject, data, { headers });
      messagesPublished.inc({ kind: item.kind });
    } catch (err) {
      failed += 1;
      first ??= err;
    }
  }
  if (failed > 0) {
    const reason = first instanceof Error ? first.message : String(first);
    throw new Error(`${failed} of ${items.length} messages not published: ${reason}`, {
      cause: first,
    });
  }
}
