import { RuntimeError } from './errors.js';

/**
 * A failure of the moment, not of the message: a handler throws it (or wraps a cause in it) so
 * that the consumer retries the message with backoff and never dead-letters it for this.
 */
export class TransientError extends RuntimeError {
  override name = 'TransientError';
}

/**
 * SQLSTATEs of a database that is unavailable or busy, not of a statement that is wrong:
 * serialization failure and deadlock (40001, 40P01), shutdown and start-up (57P01-57P03),
 * a cancelled statement (57014: a statement timeout), lock timeout (55P03), too many connections
 * and other insufficient resources (class 53), and any connection exception (class 08).
 */
const TRANSIENT_SQLSTATES = new Set([
  '40001',
  '40P01',
  '57P01',
  '57P02',
  '57P03',
  '57014',
  '55P03',
]);
const TRANSIENT_SQLSTATE_CLASSES = ['08', '53'];

/** Node's socket and DNS errors: the server is unreachable for now. */
const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** NATS client errors of a broker that is unreachable, slow or restarting. */
const TRANSIENT_NATS_ERRORS = new Set([
  'TimeoutError',
  'NoResponders',
  'ClosedConnectionError',
  'DrainingConnectionError',
  'ConnectionError',
  'RequestError',
  'JetStreamNotEnabled',
  'JetStreamStatusError',
]);

/** Messages of node-postgres for a connection it lost or could not make. */
const PG_CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Cannot use a pool after calling end|Client was closed/i;

function isTransientOne(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  if (err instanceof TransientError) return true;
  const { code, name, message, status } = err as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    status?: unknown;
  };
  if (typeof code === 'string') {
    if (TRANSIENT_SQLSTATES.has(code)) return true;
    if (code.length === 5 && TRANSIENT_SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true;
    if (TRANSIENT_SYSTEM_CODES.has(code)) return true;
  }
  if (typeof name === 'string' && TRANSIENT_NATS_ERRORS.has(name)) return true;
  // JetStream answering "temporarily unavailable" (503) or timing out a request (408).
  if (name === 'JetStreamApiError' && (status === 503 || status === 408)) return true;
  return typeof message === 'string' && PG_CONNECTION_MESSAGES.test(message);
}

/**
 * Whether a failure is one of the moment (PostgreSQL or the broker unavailable, a lost
 * connection, a serialization failure or deadlock, a timeout) rather than one of the message:
 * looks through `cause` chains and the errors of an AggregateError. A transient failure is
 * retried with backoff for as long as it lasts and never dead-letters a message.
 */
export function isTransientError(err: unknown): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    if (isTransientOne(e)) return true;
    queue.push((e as { cause?: unknown }).cause);
    if (e instanceof AggregateError) queue.push(...(e.errors as unknown[]));
  }
  return false;
}
