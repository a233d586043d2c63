import { NiyantaApiError, NiyantaConnectionError } from './errors.js';
import { RETRYABLE_STATUSES, retryDelayMs, sleep } from './retry.js';
import type { RetryPolicy } from './retry.js';

/** The header naming the tenant a root key acts on. */
export const TENANT_HEADER = 'Niyanta-Tenant';

/** What every request of one client shares. */
export interface TransportConfig {
  /** Base URL without a trailing slash. */
  url: string;
  apiKey: string | undefined;
  tenant: string | undefined;
  retry: RetryPolicy;
  fetch: typeof fetch;
}

/** One request to the API. */
export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  signal?: AbortSignal | undefined;
  /**
   * Whether a request that may or may not have arrived (a network error) can be sent again:
   * reads, and submissions that carry an idempotency key.
   */
  resendable: boolean;
  accept?: string;
  /** More request headers (e.g. `Last-Event-ID`). */
  headers?: Record<string, string>;
}

/** Sends requests: the bearer key and tenant header, 429/503 retried as `Retry-After` says, problems thrown typed. */
export class Transport {
  constructor(readonly config: TransportConfig) {}

  /** The response of a successful request, parsed as JSON (undefined for an empty body). */
  async json<T>(spec: RequestSpec): Promise<T> {
    const res = await this.send(spec);
    const text = await res.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** The response of a successful request, its body unread (for event streams). */
  async send(spec: RequestSpec): Promise<Response> {
    const { retry } = this.config;
    const url = this.urlOf(spec);
    const request = `${spec.method} ${spec.path}`;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.config.fetch(url, {
          method: spec.method,
          headers: this.headers(spec),
          ...(spec.body === undefined ? {} : { body: JSON.stringify(spec.body) }),
          ...(spec.signal === undefined ? {} : { signal: spec.signal }),
        });
      } catch (err) {
        if (spec.signal?.aborted) throw spec.signal.reason;
        if (spec.resendable && attempt < retry.maxRetries) {
          await sleep(retryDelayMs(retry, attempt, null), spec.signal);
          continue;
        }
        throw new NiyantaConnectionError(this.config.url, { cause: err });
      }
      if (res.ok) return res;
      if (RETRYABLE_STATUSES.has(res.status) && attempt < retry.maxRetries) {
        await res.body?.cancel().catch(() => undefined);
        await sleep(retryDelayMs(retry, attempt, res.headers.get('retry-after')), spec.signal);
        continue;
      }
      throw new NiyantaApiError(request, res.status, await problemOf(res));
    }
  }

  private urlOf(spec: RequestSpec): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(spec.query ?? {}))
      if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return `${this.config.url}${spec.path}${qs === '' ? '' : `?${qs}`}`;
  }

  private headers(spec: RequestSpec): Record<string, string> {
    const h: Record<string, string> = {
      ...spec.headers,
      accept: spec.accept ?? 'application/json',
    };
    if (spec.body !== undefined) h['content-type'] = 'application/json';
    if (this.config.apiKey !== undefined) h.authorization = `Bearer ${this.config.apiKey}`;
    if (this.config.tenant !== undefined) h[TENANT_HEADER] = this.config.tenant;
    return h;
  }
}

async function problemOf(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text().catch(() => '');
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // not JSON: a proxy's page or an empty body
  }
  return {
    title: res.statusText || `HTTP ${res.status}`,
    status: res.status,
    detail: text || undefined,
  };
}
