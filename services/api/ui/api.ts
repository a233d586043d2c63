import type {
  ApiKeyCreatedV1,
  ApiKeyListV1,
  CheckpointListV1,
  LogListV1,
  MeV1,
  TenantListV1,
  TenantV1,
  WorkerListV1,
  WorkloadCountsV1,
  WorkloadHistoryV1,
  WorkloadListV1,
  WorkloadV1,
} from '@niyanta/messages';
import { session } from './session.js';

/** A non-2xx answer, with the problem details' title and detail. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail || title || `HTTP ${status}`);
  }
}

/** One event of GET /v1/workloads/{id}/events. */
export type WorkloadEvent =
  | { event: 'status'; data: { workload: WorkloadV1 } }
  | { event: 'progress'; data: { attempt: number; fraction: number; message?: string | null } }
  | { event: 'log'; data: { attempt: number; at: string; stream: string; line: string } };

export interface ListQuery {
  status?: string;
  type?: string;
  label?: string;
  limit?: number;
  cursor?: string;
}

const RECONNECT_DELAY_MS = 1000;
const PLACEMENT_PATH = '/v1/workloads/{id}/placement';

/**
 * The dashboard's calls to the public HTTP API, same origin, with the signed-in key as the
 * bearer header. Method names follow @niyanta/client.
 */
export class DashboardApi {
  private placementRoute: Promise<boolean> | undefined;

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const key = session.key();
    return { ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    const res = await fetch(path, {
      method,
      headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) {
      let title = res.statusText;
      let detail = '';
      try {
        const problem = (await res.json()) as { title?: string; detail?: string };
        title = problem.title ?? title;
        detail = problem.detail ?? '';
      } catch {
        // Not problem+json: the status says enough.
      }
      throw new ApiError(res.status, title, detail);
    }
    return res;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.send(method, path, body)).json()) as T;
  }

  me = () => this.json<MeV1>('GET', '/v1/me');
  get = (id: string) => this.json<WorkloadV1>('GET', `/v1/workloads/${encodeURIComponent(id)}`);
  list(query: ListQuery): Promise<WorkloadListV1> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query))
      if (v !== undefined && v !== '') params.set(k, String(v));
    return this.json('GET', `/v1/workloads?${params.toString()}`);
  }
  counts = () => this.json<WorkloadCountsV1>('GET', '/v1/workloads/counts');
  history = (id: string) =>
    this.json<WorkloadHistoryV1>('GET', `/v1/workloads/${encodeURIComponent(id)}/history`);
  logs = (id: string) =>
    this.json<LogListV1>('GET', `/v1/workloads/${encodeURIComponent(id)}/logs`);
  checkpoints = (id: string) =>
    this.json<CheckpointListV1>('GET', `/v1/workloads/${encodeURIComponent(id)}/checkpoints`);
  /** The placement explanation; undefined where this API has no such route (its OpenAPI says). */
  async placement(id: string): Promise<unknown> {
    this.placementRoute ??= fetch('/openapi.json', { headers: this.headers() })
      .then(async (res) => {
        if (!res.ok) return false;
        const doc = (await res.json()) as { paths?: Record<string, unknown> };
        return doc.paths?.[PLACEMENT_PATH] !== undefined;
      })
      .catch(() => false);
    if (!(await this.placementRoute)) return undefined;
    return this.json('GET', `/v1/workloads/${encodeURIComponent(id)}/placement`);
  }
  private command = (id: string, command: string) =>
    this.json<WorkloadV1>('POST', `/v1/workloads/${encodeURIComponent(id)}/${command}`, {
      reason: 'from the dashboard',
    });
  cancel = (id: string) => this.command(id, 'cancel');
  pause = (id: string) => this.command(id, 'pause');
  resume = (id: string) => this.command(id, 'resume');
  workers = () => this.json<WorkerListV1>('GET', '/v1/workers');
  keys = () => this.json<ApiKeyListV1>('GET', '/v1/api-keys?limit=200');
  createKey = (name: string, role: string) =>
    this.json<ApiKeyCreatedV1>('POST', '/v1/api-keys', { name, role });
  revokeKey = (id: string) => this.send('DELETE', `/v1/api-keys/${encodeURIComponent(id)}`);
  tenants = () => this.json<TenantListV1>('GET', '/v1/tenants');
  createTenant = (id: string, name: string) =>
    this.json<TenantV1>('POST', '/v1/tenants', name ? { id, name } : { id });

  /**
   * The workload's live events over SSE (fetch, because EventSource cannot send the bearer
   * header), reconnecting until `signal` aborts; each connection starts with the current status.
   */
  async events(
    id: string,
    signal: AbortSignal,
    onEvent: (e: WorkloadEvent) => void,
  ): Promise<void> {
    while (!signal.aborted) {
      try {
        const res = await fetch(`/v1/workloads/${encodeURIComponent(id)}/events`, {
          headers: this.headers({ accept: 'text/event-stream' }),
          signal,
        });
        if (!res.ok || !res.body) throw new ApiError(res.status, res.statusText, '');
        await readSse(res.body, onEvent);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiError && err.status >= 400 && err.status < 500) throw err;
      }
      await new Promise((r) => setTimeout(r, RECONNECT_DELAY_MS));
    }
  }
}

async function readSse(body: ReadableStream<Uint8Array>, onEvent: (e: WorkloadEvent) => void) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replaceAll('\r\n', '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length === 0) continue;
      onEvent({ event, data: JSON.parse(data.join('\n')) } as WorkloadEvent);
    }
  }
}
