import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { validateHttp } from '@niyanta/messages';
import type { HttpSchemaKind, HttpTypes } from '@niyanta/messages';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from './errors.js';
import type { RequestFieldError } from './errors.js';
import { jsonLimitErrors } from './json-limits.js';

/** Largest body of a single submission or a command. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Largest body of a batch (up to 1,000 submissions). */
export const MAX_BATCH_BODY_BYTES = 16 * 1024 * 1024;
/**
 * Most bytes of a body over its limit that are read (and dropped) before the 413 is sent. A
 * client that writes its whole body before reading the answer sees a connection reset instead
 * of the 413 when the server closes with bytes of it unread; past this many, it is answered at
 * once and the connection closes after a bounded drain (@hono/node-server's).
 */
export const MAX_DISCARD_BYTES = 64 * 1024 * 1024;
/** How many field errors the detail of a 400 lists (`errors` has them all). */
const DETAIL_ERRORS = 5;

/** What a route's body must be. */
export interface BodySpec<K extends HttpSchemaKind> {
  /** The HTTP schema (schemas/http) the body must match. */
  schema: K;
  /** More bytes than this answer 413. */
  limitBytes: number;
  /** An empty body is accepted and read as undefined (the commands); otherwise it is a 400. */
  optional?: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const media = value.split(';')[0]?.trim().toLowerCase();
  return media === 'application/json';
}

const unreadable = (cause: unknown) =>
  new ValidationError('the body could not be read to its end: send it again', [], { cause });

/**
 * Reads the raw body, refusing more than `limitBytes` both by Content-Length and by the bytes
 * actually received (a chunked body, or a lying header, cannot get past it); a body over the
 * limit is read to its end and dropped (up to MAX_DISCARD_BYTES) before the 413, never buffered.
 * Under @hono/node-server it reads Node's request itself: `c.req.raw.body` would build a WHATWG
 * Request and a web stream over it first, a large part of a small request's cost.
 */
export async function readBodyBytes(c: Context, limitBytes: number): Promise<Uint8Array> {
  const req = c.req.raw;
  const declared = Number(req.headers.get('content-length') ?? 0);
  if (declared > MAX_DISCARD_BYTES) throw new PayloadTooLargeError(limitBytes);
  const over = declared > limitBytes;
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming !== undefined) return readIncoming(incoming, limitBytes, over);
  if (req.body === null) return new Uint8Array(0);
  return readWebStream(req.body, limitBytes, over);
}

async function readWebStream(
  body: ReadableStream<Uint8Array>,
  limitBytes: number,
  startsOver: boolean,
): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let over = startsOver;
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch (err) {
      throw unreadable(err);
    }
    const { done, value } = chunk;
    if (done) break;
    total += value.byteLength;
    over ||= total > limitBytes;
    if (!over) {
      chunks.push(value);
      continue;
    }
    chunks.length = 0;
    if (total > MAX_DISCARD_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new PayloadTooLargeError(limitBytes);
    }
  }
  if (over) throw new PayloadTooLargeError(limitBytes);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function readIncoming(
  incoming: IncomingMessage,
  limitBytes: number,
  startsOver: boolean,
): Promise<Uint8Array> {
  // Someone read it already: waiting for its end would wait forever.
  if (incoming.readableEnded || incoming.destroyed)
    return Promise.reject(unreadable(new Error('the body was read already')));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let over = startsOver;
    const settle = (err: unknown, bytes?: Uint8Array) => {
      incoming.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (bytes === undefined) reject(err);
      else resolve(bytes);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      over ||= total > limitBytes;
      if (!over) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      if (total > MAX_DISCARD_BYTES) {
        // Read no more of it; @hono/node-server drains the rest (bounded) after the answer.
        incoming.pause();
        settle(new PayloadTooLargeError(limitBytes));
      }
    };
    const onEnd = () => {
      if (over) settle(new PayloadTooLargeError(limitBytes));
      // The connection failed while the request was read (bytes after it that are no HTTP
      // request make Node answer 400 and close): nobody can get an answer, so nothing is done.
      else if (incoming.socket?.destroyed)
        settle(unreadable(new Error('the connection closed before the request was answered')));
      else settle(undefined, Buffer.concat(chunks, total));
    };
    const onError = (err: unknown) => settle(unreadable(err));
    const onClose = () =>
      settle(unreadable(new Error('the connection closed before the body ended')));
    incoming.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

function parseJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (err) {
    throw new ValidationError('the body is not UTF-8 text: send JSON encoded as UTF-8', [], {
      cause: err,
    });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`the body is not valid JSON: ${(err as Error).message}`, [
      { path: '', message: `is not valid JSON: ${(err as Error).message}`, in: 'body' },
    ]);
  }
}

const jsonKind = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;

/** What is wrong with a parsed body: not an object, not storable, or not the schema's. */
function bodyErrors(schema: HttpSchemaKind, value: unknown): RequestFieldError[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return [{ path: '', in: 'body', message: `must be a JSON object, not ${jsonKind(value)}` }];
  const limits = jsonLimitErrors(value);
  if (limits.length > 0) return limits;
  return validateHttp(schema, value).map((e) => ({ path: e.path, message: e.message, in: 'body' }));
}

/** The detail of a 400 for these field errors. */
export function describeBodyErrors(errors: readonly RequestFieldError[]): string {
  const shown = errors.slice(0, DETAIL_ERRORS).map((e) => `${e.path || '/'} ${e.message}`);
  const more = errors.length > DETAIL_ERRORS ? `; and ${errors.length - DETAIL_ERRORS} more` : '';
  return `invalid body: ${shown.join('; ')}${more}`;
}

/**
 * The one reader of request bodies. Answers (by throwing the problem) 413 over
 * `spec.limitBytes`; 400 for an empty body unless `spec.optional`; 415 for a body whose content
 * type is not application/json (none included); 400 for text that is not UTF-8 JSON, for JSON
 * that is not an object, for values PostgreSQL cannot store (U+0000, lone surrogates, numbers
 * past a double, nesting past MAX_JSON_DEPTH), and for anything the schema refuses (unknown
 * fields included), each naming its path.
 */
export async function readBody<K extends HttpSchemaKind>(
  c: Context,
  spec: BodySpec<K> & { optional: true },
): Promise<HttpTypes[K] | undefined>;
export async function readBody<K extends HttpSchemaKind>(
  c: Context,
  spec: BodySpec<K>,
): Promise<HttpTypes[K]>;
export async function readBody<K extends HttpSchemaKind>(
  c: Context,
  spec: BodySpec<K>,
): Promise<HttpTypes[K] | undefined> {
  const bytes = await readBodyBytes(c, spec.limitBytes);
  if (bytes.byteLength === 0) {
    if (spec.optional) return undefined;
    throw new ValidationError('the body is empty: send a JSON object', [
      { path: '', message: 'is required', in: 'body' },
    ]);
  }
  const contentType = c.req.header('content-type');
  if (!isJsonContentType(contentType)) throw new UnsupportedMediaTypeError(contentType);
  const value = parseJson(bytes);
  const errors = bodyErrors(spec.schema, value);
  if (errors.length > 0) throw new ValidationError(describeBodyErrors(errors), errors);
  return value as HttpTypes[K];
}
