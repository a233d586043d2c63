import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from './errors.js';

/** Largest body of a single submission or a command. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Largest body of a batch (up to 1,000 submissions). */
export const MAX_BATCH_BODY_BYTES = 16 * 1024 * 1024;

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
 * actually received (a chunked body, or a lying header, cannot get past it). Under
 * @hono/node-server it reads Node's request itself: `c.req.raw.body` would build a WHATWG
 * Request and a web stream over it first, a large part of a small request's cost.
 */
export async function readBodyBytes(c: Context, limitBytes: number): Promise<Uint8Array> {
  const req = c.req.raw;
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > limitBytes)
    throw new PayloadTooLargeError(limitBytes);
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming !== undefined) return readIncoming(incoming, limitBytes);
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
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
    if (total > limitBytes) {
      await reader.cancel().catch(() => undefined);
      throw new PayloadTooLargeError(limitBytes);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function readIncoming(incoming: IncomingMessage, limitBytes: number): Promise<Uint8Array> {
  // Someone read it already: waiting for its end would wait forever.
  if (incoming.readableEnded || incoming.destroyed)
    return Promise.reject(unreadable(new Error('the body was read already')));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const settle = (err: unknown, bytes?: Uint8Array) => {
      incoming.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (bytes === undefined) reject(err);
      else resolve(bytes);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > limitBytes) {
        // Read no more of it; @hono/node-server drains the rest (bounded) after the answer.
        incoming.pause();
        settle(new PayloadTooLargeError(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle(undefined, Buffer.concat(chunks, total));
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

/** Reads a required JSON body: 415 unless application/json, 413 over the limit, 400 unless JSON. */
export async function readJsonBody(c: Context, limitBytes: number): Promise<unknown> {
  const contentType = c.req.header('content-type');
  if (!isJsonContentType(contentType)) throw new UnsupportedMediaTypeError(contentType);
  const bytes = await readBodyBytes(c, limitBytes);
  if (bytes.byteLength === 0) {
    throw new ValidationError('the body is empty: send a JSON object', [
      { path: '', message: 'is required', in: 'body' },
    ]);
  }
  return parseJson(bytes);
}

/** Reads an optional JSON body: undefined when empty; otherwise as `readJsonBody`. */
export async function readOptionalJsonBody(c: Context, limitBytes: number): Promise<unknown> {
  const bytes = await readBodyBytes(c, limitBytes);
  if (bytes.byteLength === 0) return undefined;
  const contentType = c.req.header('content-type');
  if (!isJsonContentType(contentType)) throw new UnsupportedMediaTypeError(contentType);
  return parseJson(bytes);
}
