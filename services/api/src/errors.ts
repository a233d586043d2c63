/** Where an invalid field is: the body, the query string, the path or a header. */
export type FieldLocation = 'body' | 'query' | 'path' | 'header';

/** One invalid field of a request. */
export interface RequestFieldError {
  path: string;
  message: string;
  in?: FieldLocation;
}

/** Base error of the API. */
export class ApiError extends Error {
  override name = 'ApiError';
}

/** An error with an HTTP answer: `app.onError` turns it into problem+json. */
export class ProblemError extends ApiError {
  override name = 'ProblemError';
  constructor(
    readonly status: number,
    /** Short machine-readable kind, the last part of the problem `type`. */
    readonly kind: string,
    readonly title: string,
    detail: string,
    readonly extra: {
      errors?: RequestFieldError[];
      headers?: Record<string, string>;
      /** Extension members of the problem body (RFC 9457 §3.2). */
      members?: Record<string, string | number>;
      cause?: unknown;
    } = {},
  ) {
    super(detail, extra.cause === undefined ? undefined : { cause: extra.cause });
  }

  /**
   * What the problem's `errors` array says: every 4xx names what is wrong, so a request-level
   * refusal (no single field) still gets one entry, about the body.
   */
  fieldErrors(): RequestFieldError[] {
    if (this.extra.errors && this.extra.errors.length > 0) return this.extra.errors;
    return this.status < 500 ? [{ path: '', in: 'body', message: this.message }] : [];
  }
}

/** 400: a field, parameter or the body is invalid. */
export class ValidationError extends ProblemError {
  override name = 'ValidationError';
  constructor(detail: string, errors: RequestFieldError[] = [], options?: { cause?: unknown }) {
    super(400, 'validation', 'Invalid request', detail, { errors, cause: options?.cause });
  }
}

/** 404: no such workload, or no such route. */
export class NotFoundError extends ProblemError {
  override name = 'NotFoundError';
  constructor(detail: string) {
    super(404, 'not-found', 'Not found', detail);
  }
}

/** 404: no workload with this id (in this tenant). */
export class WorkloadNotFoundError extends NotFoundError {
  override name = 'WorkloadNotFoundError';
  constructor(readonly workloadId: string) {
    super(
      `no workload ${workloadId}: check the id (after a 202 answer it may not be in PostgreSQL yet; retry shortly)`,
    );
  }

  override fieldErrors(): RequestFieldError[] {
    return [{ path: 'id', in: 'path', message: `no workload ${this.workloadId}` }];
  }
}

/** 409: the request does not fit the workload's current status. */
export class ConflictError extends ProblemError {
  override name = 'ConflictError';
  constructor(
    detail: string,
    readonly workloadId: string,
    readonly currentStatus: string,
  ) {
    super(409, 'conflict', 'Conflict with the current status', detail);
  }

  override fieldErrors(): RequestFieldError[] {
    return [{ path: 'id', in: 'path', message: this.message }];
  }
}

/**
 * 413: the body is over the limit. The connection stays open: the body was read to its end (or,
 * past MAX_DISCARD_BYTES, is drained for a bounded time before the connection closes).
 */
export class PayloadTooLargeError extends ProblemError {
  override name = 'PayloadTooLargeError';
  constructor(readonly limitBytes: number) {
    super(
      413,
      'payload-too-large',
      'Payload too large',
      `the request body is over ${limitBytes} bytes: send a smaller input (store large data elsewhere and pass a reference)`,
    );
  }

  override fieldErrors(): RequestFieldError[] {
    return [{ path: '', in: 'body', message: `is over ${this.limitBytes} bytes` }];
  }
}

/**
 * 413: a body within the HTTP limit whose message (with its envelope and headers) is over the
 * broker's max_payload, as the connected server states it. Nothing was published.
 */
export class BrokerPayloadTooLargeError extends ProblemError {
  override name = 'BrokerPayloadTooLargeError';
  constructor(
    /** What was refused, e.g. "the submission". */
    readonly what: string,
    /** JSON Pointer of the part of the body that made the message ('' for the whole body). */
    readonly path: string,
    readonly size: number,
    readonly limit: number,
    options?: { cause?: unknown },
  ) {
    super(
      413,
      'payload-too-large',
      'Payload too large',
      `${what} is ${size} bytes as a broker message; the broker (max_payload) accepts at most ${limit}: send a smaller input (store large data elsewhere and pass a reference)`,
      { cause: options?.cause },
    );
  }

  override fieldErrors(): RequestFieldError[] {
    return [
      {
        path: this.path,
        in: 'body',
        message: `is ${this.size} bytes as a broker message; the broker (max_payload) accepts at most ${this.limit}`,
      },
    ];
  }
}

/** 415: the body is not JSON by its content type. */
export class UnsupportedMediaTypeError extends ProblemError {
  override name = 'UnsupportedMediaTypeError';
  constructor(readonly contentType: string | undefined) {
    super(
      415,
      'unsupported-media-type',
      'Unsupported media type',
      `content type ${contentType === undefined ? '(none)' : `"${contentType}"`} is not accepted: send the body as application/json`,
    );
  }

  override fieldErrors(): RequestFieldError[] {
    return [{ path: 'content-type', in: 'header', message: 'must be application/json' }];
  }
}

/** 503: NATS or PostgreSQL is not reachable right now; nothing was accepted. */
export class UnavailableError extends ProblemError {
  override name = 'UnavailableError';
  constructor(detail: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(503, 'unavailable', 'Service unavailable', detail, {
      headers: { 'Retry-After': String(options?.retryAfterSeconds ?? 2) },
      cause: options?.cause,
    });
  }
}

/** 401: no key, a malformed Authorization header, or a key that is unknown or revoked. */
export class UnauthorizedError extends ProblemError {
  override name = 'UnauthorizedError';
  constructor(detail: string) {
    super(401, 'unauthorized', 'Unauthorized', detail, {
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }

  override fieldErrors(): RequestFieldError[] {
    return [{ path: 'authorization', in: 'header', message: this.message }];
  }
}

/** 403: the key's role lacks a permission, or it may not act on the tenant asked for. */
export class ForbiddenError extends ProblemError {
  override name = 'ForbiddenError';
  constructor(
    detail: string,
    members: { role?: string; permission?: string } = {},
    readonly field: RequestFieldError = { path: '', in: 'body', message: detail },
  ) {
    super(403, 'forbidden', 'Forbidden', detail, { members });
  }

  override fieldErrors(): RequestFieldError[] {
    return [this.field];
  }
}

/** 404: a resource that does not exist, or belongs to another tenant (the two look alike). */
export class ResourceNotFoundError extends NotFoundError {
  override name = 'ResourceNotFoundError';
  constructor(
    readonly resource: string,
    readonly id: string,
    readonly field: RequestFieldError = { path: 'id', in: 'path', message: `no ${resource} ${id}` },
  ) {
    super(`no ${resource} ${id}: check the id`);
  }

  override fieldErrors(): RequestFieldError[] {
    return [this.field];
  }
}

/** 409: the resource exists already; `field` names the body field that must change. */
export class AlreadyExistsError extends ProblemError {
  override name = 'AlreadyExistsError';
  constructor(
    readonly resource: string,
    readonly id: string,
    readonly field: 'id' | 'name' = 'id',
  ) {
    super(
      409,
      'conflict',
      'Already exists',
      `${resource} ${id} exists already: choose another ${field}`,
    );
  }

  override fieldErrors(): RequestFieldError[] {
    return [
      { path: `/${this.field}`, in: 'body', message: `${this.resource} ${this.id} exists already` },
    ];
  }
}

/** 429: the tenant's request rate is spent; the headers say when to come back. */
export class RateLimitedError extends ProblemError {
  override name = 'RateLimitedError';
  constructor(
    readonly tenant: string,
    headers: Record<string, string>,
  ) {
    super(
      429,
      'rate-limited',
      'Too many requests',
      `tenant ${tenant} is over its request rate: retry after ${headers['Retry-After']} s`,
      { headers, members: { code: 'RATE_LIMITED' } },
    );
  }
}

/** 429: accepting the submission would take the tenant over a quota. */
export class QuotaExceededError extends ProblemError {
  override name = 'QuotaExceededError';
  constructor(
    readonly tenant: string,
    readonly quota: string,
    readonly limit: number,
    readonly current: number,
    readonly requested: number,
  ) {
    super(
      429,
      'quota-exceeded',
      'Quota exceeded',
      `tenant ${tenant} is at its ${quota} ${limit} (currently ${current}, ${requested} more asked): nothing was accepted; wait for work to finish or ask for a higher quota`,
      { members: { code: 'QUOTA_EXCEEDED', quota, limit, current } },
    );
  }
}
