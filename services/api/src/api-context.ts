import type { Logger, SecretKeys } from '@niyanta/runtime';
import type { AuditLog } from './audit/audit-log.js';
import type { AuthSettings } from './auth/authenticate.js';
import type { IdentityStore } from './auth/identity-store.js';
import type { TenantRateLimiter } from './auth/rate-limiter.js';
import type { Connections } from './connections.js';
import type { ApiMetrics } from './metrics.js';
import type { SseRegistry } from './sse-registry.js';
import type { IngestWaiters } from './ingest-waiters.js';

/** What every route module needs: connections, waiters, metrics, identities and settings. */
export interface ApiContext {
  submitWaitMs: number;
  log: Logger;
  connections: Connections;
  waiters: IngestWaiters;
  streams: SseRegistry;
  /** Body size past which a list page stops early; LIST_MAX_BYTES when absent. */
  listMaxBytes?: number;
  /** PRIORITY_AGING_MS, for `effectivePriority`; its default when absent. */
  priorityAgingMs?: number;
  metrics: ApiMetrics;
  auth: AuthSettings;
  identities: IdentityStore;
  rateLimiter: TenantRateLimiter;
  audit: AuditLog;
  /** SECRETS_KEY's keys; without them secrets cannot be stored. */
  secretKeys?: SecretKeys;
  /** Test-only SCHEDULE_TEST_SECONDS: schedules may use a sixth, leading seconds field. */
  scheduleTestSeconds?: boolean;
}
