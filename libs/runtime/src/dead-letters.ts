import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { recordDeadLetters } from '@niyanta/db';
import type { Database, DeadLetterRecord } from '@niyanta/db';
import {
  STREAMS,
  SUBJECTS,
  decode,
  envelope,
  escapeUnstorable,
  isSubjectToken,
  lastToken,
  publishAll,
} from '@niyanta/messages';
import type { DeadLetterV1, MessageKind, MessageTypes, Outgoing } from '@niyanta/messages';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { isTransientError } from './transient.js';

/** A message a consumer gives up on, and why. */
export interface Refusal {
  msg: JsMsg;
  error: string;
}

/** A decoded message with the message it came in. */
export interface DecodedMessage<T> {
  msg: JsMsg;
  value: T;
}

/** Where dead letters are written: the dead_letters table, and niyanta.dead.<stream>. */
export interface DeadLetterSink {
  /**
   * Records the letters and announces them. Throws only a transient failure (the message is
   * retried later); any other is logged, and the message is terminated all the same, so that
   * recording a message can never hold it for ever.
   */
  record(letters: readonly DeadLetterRecord[]): Promise<void>;
}

/** Bytes of a body an announcement carries; the dead_letters row always holds all of it. */
export const DEAD_LETTER_ANNOUNCED_BYTES = 256 * 1024;
/** Characters of the error a dead letter keeps. */
export const DEAD_LETTER_ERROR_CHARS = 8 * 1024;
const ANNOUNCED_TEXT_CHARS = 4 * 1024;
const ANNOUNCED_HEADERS_CHARS = 64 * 1024;
const MSG_ID_HEADER = 'Nats-Msg-Id';

/** Streams whose subjects end with the tenant (`niyanta.submit.<tenant>`, `niyanta.command.<tenant>`). */
const TENANT_STREAMS: ReadonlySet<string> = new Set([STREAMS.submit.name, STREAMS.command.name]);

const cut = (text: string, max: number) => (text.length > max ? text.slice(0, max) : text);

function headersOf(msg: JsMsg): Record<string, string[]> | null {
  const { headers } = msg;
  if (headers === undefined) return null;
  const out: Record<string, string[]> = {};
  for (const name of headers.keys()) {
    out[escapeUnstorable(name)] = headers.values(name).map(escapeUnstorable);
  }
  return Object.keys(out).length === 0 ? null : out;
}

/** The dead letter of a message: texts escaped so that PostgreSQL can store them, body as is. */
export function deadLetterOf(
  msg: JsMsg,
  where: { stream: string; consumer: string },
  error: string,
): DeadLetterRecord {
  const msgId = msg.headers?.get(MSG_ID_HEADER);
  const tenant = TENANT_STREAMS.has(where.stream) ? lastToken(msg.subject) : undefined;
  return {
    stream: where.stream,
    consumer: where.consumer,
    subject: escapeUnstorable(msg.subject),
    streamSeq: msg.seq,
    msgId: msgId ? escapeUnstorable(msgId) : null,
    tenant: tenant !== undefined && isSubjectToken(tenant) ? tenant : null,
    headers: headersOf(msg),
    data: msg.data,
    error: cut(escapeUnstorable(error), DEAD_LETTER_ERROR_CHARS),
    deliveries: msg.info.deliveryCount,
  };
}

/**
 * The announcement of a dead letter on niyanta.dead.<stream>, bounded so that it fits in a
 * message whatever the original was: the body cut at DEAD_LETTER_ANNOUNCED_BYTES, long texts
 * cut, headers left out past 64 KiB.
 */
export function deadLetterAnnouncement(
  letter: DeadLetterRecord,
  recorded: boolean,
): Outgoing<'deadLetter'> {
  const headers =
    letter.headers !== null && JSON.stringify(letter.headers).length <= ANNOUNCED_HEADERS_CHARS
      ? letter.headers
      : null;
  const body = Buffer.from(letter.data.buffer, letter.data.byteOffset, letter.data.byteLength);
  const message: DeadLetterV1 = {
    ...envelope(),
    stream: letter.stream,
    consumer: letter.consumer,
    subject: cut(letter.subject, ANNOUNCED_TEXT_CHARS),
    streamSeq: letter.streamSeq,
    msgId: letter.msgId === null ? null : cut(letter.msgId, ANNOUNCED_TEXT_CHARS),
    tenant: letter.tenant,
    headers,
    data: body.subarray(0, DEAD_LETTER_ANNOUNCED_BYTES).toString('base64'),
    size: body.length,
    error: letter.error,
    deliveries: letter.deliveries,
    recorded,
  };
  return {
    kind: 'deadLetter',
    subject: SUBJECTS.dead(letter.stream),
    message,
    msgId: `dead:${letter.consumer}:${letter.streamSeq}`,
  };
}

/** The dead letter an announcement describes (the worker's, which the scheduler records). */
export function deadLetterFromAnnouncement(m: DeadLetterV1): DeadLetterRecord {
  const data = Buffer.from(m.data, 'base64');
  const cutNote =
    data.length < m.size
      ? ` (body cut to its first ${data.length} of ${m.size} bytes in the announcement)`
      : '';
  return {
    stream: m.stream,
    consumer: m.consumer,
    subject: m.subject,
    streamSeq: m.streamSeq,
    msgId: m.msgId,
    tenant: m.tenant,
    headers: m.headers,
    data,
    error: `${m.error}${cutNote}`,
    deliveries: m.deliveries,
  };
}

async function announce(
  js: JetStreamClient,
  letters: readonly DeadLetterRecord[],
  recorded: boolean,
  log: Logger,
): Promise<void> {
  try {
    await publishAll(
      js,
      letters.map((l) => deadLetterAnnouncement(l, recorded)),
    );
  } catch (err) {
    if (isTransientError(err)) throw err;
    log.error({ err, count: letters.length }, 'dead letters could not be announced');
  }
}

/** Dead letters of a service with a database: a dead_letters row each, then the announcement. */
export function databaseDeadLetterSink(deps: {
  db: Kysely<Database>;
  js: JetStreamClient;
  log: Logger;
}): DeadLetterSink {
  return {
    async record(letters) {
      if (letters.length === 0) return;
      try {
        await recordDeadLetters(deps.db, letters);
      } catch (err) {
        if (isTransientError(err)) throw err;
        deps.log.error({ err, count: letters.length }, 'dead letters could not be recorded');
      }
      await announce(deps.js, letters, true, deps.log);
    },
  };
}

/**
 * Dead letters of a service without a database (the worker): announced only, with
 * `recorded: false`; the scheduler's `scheduler-dead-letters` consumer writes their rows.
 */
export function announcingDeadLetterSink(deps: {
  js: JetStreamClient;
  log: Logger;
}): DeadLetterSink {
  return {
    async record(letters) {
      if (letters.length === 0) return;
      await announce(deps.js, letters, false, deps.log);
    },
  };
}

/**
 * One consumer's dead letters: decode-log-record-terminate, the one way every consumer refuses
 * a message. A refused message is logged with the reason, recorded (see DeadLetterSink), then
 * `term()`-ed (without a reason: nats-server 2.9 leaves a message whose TERM carries one pending,
 * to be redelivered for ever).
 */
export class DeadLetters {
  readonly stream: string;
  readonly consumer: string;
  private readonly sink: DeadLetterSink;
  private readonly log: Logger;

  constructor(opts: { stream: string; consumer: string; sink: DeadLetterSink; log: Logger }) {
    this.stream = opts.stream;
    this.consumer = opts.consumer;
    this.sink = opts.sink;
    this.log = opts.log;
  }

  /**
   * Decodes messages of one kind; those that do not decode (not JSON, schema, not storable) are
   * refused at once, never retried. Returns the others, in order.
   */
  async decode<K extends MessageKind>(
    kind: K,
    msgs: readonly JsMsg[],
  ): Promise<DecodedMessage<MessageTypes[K]>[]> {
    const out: DecodedMessage<MessageTypes[K]>[] = [];
    let refused: Refusal[] | undefined;
    for (const msg of msgs) {
      const d = decode(kind, msg.data);
      if (d.ok) out.push({ msg, value: d.value });
      else (refused ??= []).push({ msg, error: d.reason });
    }
    if (refused !== undefined) await this.refuse(refused);
    return out;
  }

  /** Logs, records and terminates the messages; throws only a transient failure to record them. */
  async refuse(refusals: readonly Refusal[]): Promise<void> {
    if (refusals.length === 0) return;
    const letters = refusals.map((r) =>
      deadLetterOf(r.msg, { stream: this.stream, consumer: this.consumer }, r.error),
    );
    for (const l of letters) {
      this.log.error(
        {
          consumer: l.consumer,
          subject: l.subject,
          streamSeq: l.streamSeq,
          deliveries: l.deliveries,
          reason: l.error,
        },
        'message refused: recorded as a dead letter and terminated',
      );
    }
    await this.sink.record(letters);
    for (const r of refusals) r.msg.term();
  }
}
