import type {
  ApiKeyCreatedV1,
  ApiKeyV1,
  AuditVerifyV1,
  TenantCreateV1,
  TenantPatchV1,
  TenantV1,
  WorkerV1,
  WorkloadSubmissionV1,
  WorkloadV1,
} from '@niyanta/messages';
import { NiyantaConfigError } from './errors.js';
import { DEFAULT_RECONNECT } from './event-stream.js';
import type { ReconnectOptions } from './event-stream.js';
import { WorkloadHandle } from './handle.js';
import type { HandleContext } from './handle.js';
import { newIdempotencyKey } from './idempotency.js';
import { DEFAULT_RETRY } from './retry.js';
import type { RetryOptions } from './retry.js';
import { Transport } from './transport.js';
import type {
  ListQuery,
  PlacementExplanation,
  SubmitOptions,
  WorkloadDefinitionLike,
  WorkloadPage,
  WorkloadStatus,
} from './types.js';

/** Options of `new Niyanta(...)`. */
export interface NiyantaOptions {
  /** Base URL of the API (default: NIYANTA_URL, else the page's origin in a browser). */
  url?: string;
  /** API key sent as `Authorization: Bearer` (default: NIYANTA_API_KEY; none with AUTH_MODE=disabled). */
  apiKey?: string;
  /** Tenant a root key acts on (`Niyanta-Tenant`; default: NIYANTA_TENANT, else the key's own). */
  tenant?: string;
  /** Retries of 429/503 answers and of network errors on requests that are safe to resend. */
  retry?: RetryOptions;
  /** Reconnects of event streams. */
  reconnect?: ReconnectOptions;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** A workload submission: `type`, `input` and options. */
export type Submission = WorkloadSubmissionV1;

/** Client of the Niyanta HTTP API. Runs on Node >= 20 and in browsers (fetch and web streams only). */
export class Niyanta {
  private readonly ctx: HandleContext;

  constructor(options: NiyantaOptions = {}) {
    const env = processEnv();
    const url =
      options.url ?? env.NIYANTA_URL ?? (globalThis as { location?: Location }).location?.origin;
    if (url === undefined || url === '')
      throw new NiyantaConfigError(
        'No API URL: pass { url } to new Niyanta() or set NIYANTA_URL (e.g. http://localhost:3000).',
      );
    try {
      new URL(url);
    } catch (err) {
      throw new NiyantaConfigError(
        `The API URL is not a URL: ${JSON.stringify(url)}. Expected e.g. http://localhost:3000.`,
        { cause: err },
      );
    }
    const apiKey = options.apiKey ?? emptyToUndefined(env.NIYANTA_API_KEY);
    const tenant = options.tenant ?? emptyToUndefined(env.NIYANTA_TENANT);
    const f = options.fetch ?? globalThis.fetch;
    this.ctx = {
      transport: new Transport({
        url: url.replace(/\/+$/, ''),
        apiKey,
        tenant,
        retry: { ...DEFAULT_RETRY, ...options.retry },
        // Bound to globalThis: a browser's fetch throws "Illegal invocation" when called as a method.
        fetch: (input, init) => f.call(globalThis, input, init),
      }),
      reconnect: { ...DEFAULT_RECONNECT, ...options.reconnect },
    };
  }

  /** The API's base URL. */
  get url(): string {
    return this.ctx.transport.config.url;
  }

  /**
   * Submits one workload and returns its handle. Given a worker definition
   * (`defineWorkload(...)`), `input` is checked against its input type at compile time and
   * `result()` has its result type. A submission without an idempotency key gets one, so a
   * retry after a network error can never run it twice.
   */
  submit<I, R>(
    definition: WorkloadDefinitionLike<I, R>,
    input: NoInfer<I>,
    options?: SubmitOptions,
  ): Promise<WorkloadHandle<Awaited<R>>>;
  submit<R = unknown>(submission: Submission): Promise<WorkloadHandle<R>>;
  async submit(
    first: Submission | WorkloadDefinitionLike<unknown, unknown>,
    input?: unknown,
    options?: SubmitOptions,
  ): Promise<WorkloadHandle> {
    const submission: Submission =
      'run' in first && typeof first.run === 'function'
        ? { ...options, type: first.type, input }
        : (first as Submission);
    const body = {
      ...submission,
      idempotencyKey: submission.idempotencyKey ?? newIdempotencyKey(),
    };
    const res = await this.ctx.transport.send({
      method: 'POST',
      path: '/v1/workloads',
      body,
      resendable: true,
    });
    const workload = (await res.json()) as WorkloadV1;
    return new WorkloadHandle(
      this.ctx,
      workload.id,
      workload,
      res.headers.get('idempotent-replayed') === 'true',
    );
  }

  /** Submits up to 1,000 workloads in one request; handles in the order given. */
  async submitBatch(submissions: Submission[]): Promise<WorkloadHandle[]> {
    const workloads = submissions.map((s) => ({
      ...s,
      idempotencyKey: s.idempotencyKey ?? newIdempotencyKey(),
    }));
    const res = await this.ctx.transport.json<{ items: WorkloadV1[] }>({
      method: 'POST',
      path: '/v1/workloads/batch',
      body: { workloads },
      resendable: true,
    });
    return res.items.map((w) => new WorkloadHandle(this.ctx, w.id, w));
  }

  /**
   * Submits a graph in one batch: items name each other by `ref` in `dependsOn` (as well as by
   * id). Handles in the order given, and by ref.
   */
  async submitGraph(
    submissions: Submission[],
  ): Promise<{ handles: WorkloadHandle[]; refs: Record<string, WorkloadHandle> }> {
    const workloads = submissions.map((s) => ({
      ...s,
      idempotencyKey: s.idempotencyKey ?? newIdempotencyKey(),
    }));
    const res = await this.ctx.transport.json<{
      items: WorkloadV1[];
      refs?: Record<string, string>;
    }>({
      method: 'POST',
      path: '/v1/workloads/batch',
      body: { workloads },
      resendable: true,
    });
    const handles = res.items.map((w) => new WorkloadHandle(this.ctx, w.id, w));
    const byId = new Map(handles.map((h) => [h.id, h]));
    const refs: Record<string, WorkloadHandle> = {};
    for (const [ref, id] of Object.entries(res.refs ?? {})) refs[ref] = byId.get(id)!;
    return { handles, refs };
  }

  /** A handle on an existing workload (no request is made). */
  workload<R = unknown>(id: string): WorkloadHandle<R> {
    return new WorkloadHandle<R>(this.ctx, id);
  }

  /** One workload as it is now. */
  get(id: string, options: { signal?: AbortSignal } = {}): Promise<WorkloadV1> {
    return this.workload(id).get(options);
  }

  /** One page of workloads, newest first. */
  listPage(query: ListQuery = {}, options: { signal?: AbortSignal } = {}): Promise<WorkloadPage> {
    return this.ctx.transport.json<WorkloadPage>({
      method: 'GET',
      path: '/v1/workloads',
      query: { status: query.status, type: query.type, limit: query.limit, cursor: query.cursor },
      resendable: true,
      signal: options.signal,
    });
  }

  /** Every page of workloads matching `query`, newest first, fetched as the loop asks for them. */
  async *list(
    query: ListQuery = {},
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<WorkloadPage> {
    let cursor = query.cursor;
    for (;;) {
      const page = await this.listPage(
        { ...query, ...(cursor === undefined ? {} : { cursor }) },
        options,
      );
      yield page;
      if (page.nextCursor === null) return;
      cursor = page.nextCursor;
    }
  }

  /** Counts of the tenant's workloads in `statuses`, each up to `cap` (one page request each). */
  async countByStatus(
    statuses: readonly WorkloadStatus[],
    cap = 500,
  ): Promise<Record<string, number>> {
    const counts = await Promise.all(
      statuses.map(async (status) => (await this.listPage({ status, limit: cap })).items.length),
    );
    return Object.fromEntries(statuses.map((s, i) => [s, counts[i] ?? 0]));
  }

  /** The workers, with capacity, use and running workloads. */
  async workers(options: { status?: string; signal?: AbortSignal } = {}): Promise<WorkerV1[]> {
    const page = await this.ctx.transport.json<{ items: WorkerV1[] }>({
      method: 'GET',
      path: '/v1/workers',
      query: { status: options.status },
      resendable: true,
      signal: options.signal,
    });
    return page.items;
  }

  /** Creates a tenant (root key). */
  createTenant(tenant: TenantCreateV1): Promise<TenantV1> {
    return this.ctx.transport.json({
      method: 'POST',
      path: '/v1/tenants',
      body: tenant,
      resendable: false,
    });
  }

  /** Changes a tenant's name, weight, quotas or rate limit (root key). */
  updateTenant(id: string, patch: TenantPatchV1): Promise<TenantV1> {
    return this.ctx.transport.json({
      method: 'PATCH',
      path: `/v1/tenants/${encodeURIComponent(id)}`,
      body: patch,
      resendable: false,
    });
  }

  /** Every tenant (root key). */
  async tenants(): Promise<TenantV1[]> {
    const page = await this.ctx.transport.json<{ items: TenantV1[] }>({
      method: 'GET',
      path: '/v1/tenants',
      resendable: true,
    });
    return page.items;
  }

  /** Creates an API key of the tenant; the answer holds the secret, shown only this once. */
  createApiKey(key: { name: string; role: ApiKeyV1['role'] }): Promise<ApiKeyCreatedV1> {
    return this.ctx.transport.json({
      method: 'POST',
      path: '/v1/api-keys',
      body: key,
      resendable: false,
    });
  }

  /** The tenant's API keys (without secrets), newest first. */
  async apiKeys(options: { limit?: number } = {}): Promise<ApiKeyV1[]> {
    const page = await this.ctx.transport.json<{ items: ApiKeyV1[] }>({
      method: 'GET',
      path: '/v1/api-keys',
      query: { limit: options.limit },
      resendable: true,
    });
    return page.items;
  }

  /** Revokes an API key. */
  async revokeApiKey(id: string): Promise<void> {
    await this.ctx.transport.json({
      method: 'DELETE',
      path: `/v1/api-keys/${encodeURIComponent(id)}`,
      resendable: true,
    });
  }

  /** Checks the audit log's hash chain. */
  verifyAudit(): Promise<AuditVerifyV1> {
    return this.ctx.transport.json({ method: 'GET', path: '/v1/audit/verify', resendable: true });
  }

  /**
   * Why a workload waits, or where it was placed and why: `GET /v1/workloads/{id}/placement`.
   * An API older than that route answers 404 (a NiyantaApiError), as for an unknown workload.
   */
  placement(id: string): Promise<PlacementExplanation> {
    return this.workload(id).placement();
  }
}

function processEnv(): Record<string, string | undefined> {
  // No `node:` import: in a browser there is no `process`, and the options must be given.
  return (
    (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {}
  );
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
