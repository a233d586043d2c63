import { Niyanta, NiyantaApiError } from '@niyanta/client';
import type { PlacementExplanation, WorkloadEvent } from '@niyanta/client';
import type {
  ApiKeyV1,
  MeV1,
  WorkloadCountsV1,
  WorkloadHistoryV1,
  WorkloadListV1,
  WorkloadStatus,
} from '@niyanta/messages';
import { session } from './session.js';

export { NiyantaApiError as ApiError };
export type { WorkloadEvent };

export interface ListQuery {
  status?: string;
  type?: string;
  label?: string;
  limit?: number;
  cursor?: string;
}

const PLACEMENT_PATH = '/v1/workloads/{id}/placement';
const COMMAND_REASON = 'from the dashboard';

/**
 * The dashboard's calls to the public HTTP API on this origin, with the signed-in key as the
 * bearer header: @niyanta/client for what it covers, plain fetch for the reads only the
 * dashboard uses (who am I, counts, history, the label filter).
 */
export class DashboardApi {
  private placementRoute: Promise<boolean> | undefined;
  private cached: { key: string | null; client: Niyanta } | undefined;

  /** A client for the key signed in now (sign-in and sign-out change it). */
  private client(): Niyanta {
    const key = session.key();
    if (this.cached?.key !== key) {
      this.cached = {
        key,
        client: new Niyanta({ url: location.origin, ...(key ? { apiKey: key } : {}) }),
      };
    }
    return this.cached.client;
  }

  private async json<T>(path: string): Promise<T> {
    const key = session.key();
    const res = await fetch(path, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    const text = await res.text();
    if (!res.ok) {
      let problem: Record<string, unknown> = {};
      try {
        problem = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // Not problem+json: the status says enough.
      }
      throw new NiyantaApiError(`GET ${path.split('?')[0]}`, res.status, problem);
    }
    return JSON.parse(text) as T;
  }

  me = () => this.json<MeV1>('/v1/me');
  counts = () => this.json<WorkloadCountsV1>('/v1/workloads/counts');
  history = (id: string) =>
    this.json<WorkloadHistoryV1>(`/v1/workloads/${encodeURIComponent(id)}/history`);

  get = (id: string) => this.client().get(id);
  /** A page of workloads; the label filter is a query parameter the client does not know. */
  list(query: ListQuery): Promise<WorkloadListV1> {
    if (!query.label) {
      return this.client().listPage({
        ...(query.status ? { status: query.status as WorkloadStatus } : {}),
        ...(query.type ? { type: query.type } : {}),
        ...(query.cursor ? { cursor: query.cursor } : {}),
        ...(query.limit ? { limit: query.limit } : {}),
      });
    }
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query))
      if (v !== undefined && v !== '') params.set(k, String(v));
    return this.json(`/v1/workloads?${params.toString()}`);
  }
  logs = (id: string) => this.client().workload(id).logs();
  checkpoints = (id: string) => this.client().workload(id).checkpoints();
  cancel = (id: string) => this.client().workload(id).cancel(COMMAND_REASON);
  pause = (id: string) => this.client().workload(id).pause(COMMAND_REASON);
  resume = (id: string) => this.client().workload(id).resume(COMMAND_REASON);
  workers = () => this.client().workers();
  keys = () => this.client().apiKeys({ limit: 200 });
  createKey = (name: string, role: ApiKeyV1['role']) => this.client().createApiKey({ name, role });
  revokeKey = (id: string) => this.client().revokeApiKey(id);
  tenants = () => this.client().tenants();
  createTenant = (id: string, name: string) =>
    this.client().createTenant(name ? { id, name } : { id });

  /** The placement explanation; undefined where this API has no such route (its OpenAPI says). */
  async placement(id: string): Promise<PlacementExplanation | undefined> {
    this.placementRoute ??= this.json<{ paths?: Record<string, unknown> }>('/openapi.json').then(
      (doc) => doc.paths?.[PLACEMENT_PATH] !== undefined,
      () => false,
    );
    if (!(await this.placementRoute)) return undefined;
    return this.client().placement(id);
  }

  /** The workload's live events until `signal` aborts or it ends (the client reconnects). */
  async events(
    id: string,
    signal: AbortSignal,
    onEvent: (e: WorkloadEvent) => void,
  ): Promise<void> {
    try {
      for await (const e of this.client().workload(id).events({ signal })) onEvent(e);
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }
}
