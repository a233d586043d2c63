import type { Logger } from '@niyanta/runtime';
import type { Connections } from './connections.js';
import type { ApiMetrics } from './metrics.js';
import type { SseRegistry } from './sse-registry.js';
import type { IngestWaiters } from './ingest-waiters.js';

/** What every route module needs: connections, waiters, metrics and settings. */
export interface ApiContext {
  /** Every request works on this tenant for now. */
  tenant: string;
  submitWaitMs: number;
  log: Logger;
  connections: Connections;
  waiters: IngestWaiters;
  streams: SseRegistry;
  metrics: ApiMetrics;
}
