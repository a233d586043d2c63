import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from '@niyanta/runtime';
import { ProblemError, UnavailableError } from './errors.js';
import type { RequestFieldError } from './errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The problem `type` URI of a kind of error. */
export const problemType = (kind: string): string => `urn:niyanta:problem:${kind}`;

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors?: RequestFieldError[];
}

/** Writes an RFC 9457 problem+json response. */
export function problemResponse(
  c: Context,
  problem: Omit<ProblemBody, 'instance'> & { [member: string]: unknown },
  headers: Record<string, string> = {},
): Response {
  const body = { ...problem, instance: c.req.path };
  return new Response(JSON.stringify(body), {
    status: problem.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...headers },
  });
}

// pg and node codes that mean PostgreSQL is unreachable or restarting: the client should retry.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
]);

function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  const message = err instanceof Error ? err.message : '';
  return /timeout exceeded when trying to connect|Connection terminated|pool (is|has been) (ended|destroyed)/i.test(
    message,
  );
}

/** The one error mapper: typed errors to their problem, anything else to a 500 without internals. */
export function errorToResponse(err: unknown, c: Context, log: Logger): Response {
  if (err instanceof ProblemError) {
    if (err.status >= 500)
      log.warn({ err, path: c.req.path }, 'request refused: a dependency is unavailable');
    return problemResponse(
      c,
      {
        type: problemType(err.kind),
        title: err.title,
        status: err.status,
        detail: err.message,
        ...(err.status < 500 ? { errors: err.fieldErrors() } : {}),
        ...err.extra.members,
      },
      err.extra.headers,
    );
  }
  if (isDatabaseUnavailable(err)) {
    return errorToResponse(
      new UnavailableError('PostgreSQL is not reachable right now: retry shortly', { cause: err }),
      c,
      log,
    );
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    return problemResponse(c, {
      type: problemType('http'),
      title: err.message || 'Request failed',
      status,
      detail: err.message || `the request failed with status ${status}`,
      ...(status < 500
        ? { errors: [{ path: '', in: 'body' as const, message: err.message || 'is not accepted' }] }
        : {}),
    });
  }
  log.error(
    { err, method: c.req.method, path: c.req.path },
    'unexpected error while handling a request',
  );
  return problemResponse(c, {
    type: problemType('internal'),
    title: 'Internal error',
    status: 500,
    detail:
      'the server failed to handle this request; it has been logged. Retry, and report it if it persists.',
  });
}
