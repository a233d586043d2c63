import type { WorkloadV1 } from '@niyanta/messages';

/** One invalid field of a refused request, as the API's problem `errors` names it. */
export interface ApiFieldError {
  path: string;
  message: string;
  in?: 'body' | 'query' | 'path' | 'header';
}

/** Base of every error this client throws. */
export class NiyantaError extends Error {
  override name = 'NiyantaError';
}

/** The API answered with a non-2xx status (its problem+json body, RFC 9457). */
export class NiyantaApiError extends NiyantaError {
  override name = 'NiyantaApiError';
  /** Short machine-readable kind: the last part of the problem `type` (e.g. `validation`). */
  readonly code: string;
  /** HTTP status. */
  readonly status: number;
  /** The problem's title. */
  readonly title: string;
  /** The problem's detail, when it has one. */
  readonly detail: string | undefined;
  /** Each invalid field (empty when the problem names none). */
  readonly errors: ApiFieldError[];
  /** The request, as `METHOD path`. */
  readonly request: string;
  /** The whole problem body (extension members included). */
  readonly problem: Record<string, unknown>;

  constructor(
    request: string,
    status: number,
    problem: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    const title = typeof problem.title === 'string' ? problem.title : `HTTP ${status}`;
    const detail = typeof problem.detail === 'string' ? problem.detail : undefined;
    const errors = Array.isArray(problem.errors) ? (problem.errors as ApiFieldError[]) : [];
    const fields = errors.map((e) => `${e.path === '' ? '(body)' : e.path}: ${e.message}`);
    super(
      `${request} answered ${status} ${title}${detail === undefined ? '' : `: ${detail}`}${
        fields.length > 0 && detail === undefined ? ` (${fields.join('; ')})` : ''
      }`,
      options,
    );
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.errors = errors;
    this.request = request;
    this.problem = problem;
    const type = typeof problem.type === 'string' ? problem.type : '';
    this.code = type.split('/').filter(Boolean).pop() ?? String(status);
  }
}

/** The API could not be reached (connection refused, reset, DNS) after the retries allowed. */
export class NiyantaConnectionError extends NiyantaError {
  override name = 'NiyantaConnectionError';
  constructor(
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    const reason = describeCause(options?.cause);
    super(
      `cannot reach the Niyanta API at ${url}${reason ? ` (${reason})` : ''}. Check the URL (NIYANTA_URL or --url) and that the api is running.`,
      options,
    );
  }
}

/** The client was given options it cannot work with. */
export class NiyantaConfigError extends NiyantaError {
  override name = 'NiyantaConfigError';
}

/** A workload ended FAILED; `workload.error` says why. */
export class WorkloadFailedError extends NiyantaError {
  override name = 'WorkloadFailedError';
  /** The workload's last failure (message, code, retryable). */
  readonly error: WorkloadV1['error'];
  constructor(readonly workload: WorkloadV1) {
    super(
      `workload ${workload.id} (${workload.type}) failed after ${workload.attempt} attempt(s): ${
        workload.error?.message ?? 'no error recorded'
      }`,
    );
    this.error = workload.error;
  }
}

/** A workload ended CANCELLED. */
export class WorkloadCancelledError extends NiyantaError {
  override name = 'WorkloadCancelledError';
  readonly error: WorkloadV1['error'];
  constructor(readonly workload: WorkloadV1) {
    super(
      `workload ${workload.id} (${workload.type}) was cancelled${
        workload.error?.message ? `: ${workload.error.message}` : ''
      }`,
    );
    this.error = workload.error;
  }
}

/** `result({ timeoutMs })` ran out of time before the workload ended; the workload runs on. */
export class WorkloadTimeoutError extends NiyantaError {
  override name = 'WorkloadTimeoutError';
  constructor(
    readonly workloadId: string,
    readonly timeoutMs: number,
    readonly lastSeen: WorkloadV1 | undefined,
  ) {
    super(
      `workload ${workloadId} did not end within ${timeoutMs} ms (last seen ${lastSeen?.status ?? 'unknown'}); it keeps running`,
    );
  }
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return '';
  const inner = (cause as { cause?: unknown }).cause;
  const code = (inner as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return inner instanceof Error ? inner.message : cause.message;
}
