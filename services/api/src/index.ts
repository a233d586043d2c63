import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { validateHttp } from '@niyanta/messages';
import {
  connectDatabase,
  newInstanceId,
  registerInstance,
  ROLES,
  connectNats,
  natsAuth,
  parseSecretKeys,
  streamLimits,
} from '@niyanta/runtime';
import type { InstanceRegistration, Logger, Reloadable } from '@niyanta/runtime';
import type { ApiContext } from './api-context.js';
import { createApp } from './app.js';
import type { ApiConfig } from './config.js';
import { Connections } from './connections.js';
import { createApiLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { SseRegistry } from './sse-registry.js';
import { IngestWaiters } from './ingest-waiters.js';
import { AuditLog } from './audit/audit-log.js';
import type { AuthSettings } from './auth/authenticate.js';
import { IdentityStore } from './auth/identity-store.js';
import { TenantRateLimiter } from './auth/rate-limiter.js';
import { AUTH_MODES } from './config.js';

export { createApp } from './app.js';
export { loadConfig, API_SETTINGS, AUTH_MODES, isLoopbackHost } from './config.js';
export { newApiKey, parseApiKey } from './auth/api-key-format.js';
export { entryHash, canonicalJson, GENESIS_HASH, ChainVerifier } from './audit/audit-chain.js';
export type { AuditEntry, AuditFields, ChainCheck } from './audit/audit-chain.js';
export { ROLES, PERMISSIONS, roleAllows } from './auth/roles.js';
export type { Permission } from './auth/roles.js';
export { TENANT_HEADER } from './auth/authenticate.js';
export type { ApiConfig } from './config.js';
export { buildOpenApi } from './openapi.js';
export type { ApiContext } from './api-context.js';
export { Connections } from './connections.js';
export { createMetrics } from './metrics.js';
export type { ApiMetrics } from './metrics.js';
export { SseRegistry, TooManyStreamsError, DEFAULT_SSE_LIMITS } from './sse-registry.js';
export type { SseLimits } from './sse-registry.js';
export { IngestWaiters } from './ingest-waiters.js';
export {
  ApiError,
  ProblemError,
  ValidationError,
  NotFoundError,
  WorkloadNotFoundError,
  ConflictError,
  PayloadTooLargeError,
  BrokerPayloadTooLargeError,
  UnsupportedMediaTypeError,
  UnavailableError,
} from './errors.js';

/** A running API. */
export interface ApiServer extends AsyncDisposable, Reloadable<ApiConfig> {
  /** The port it listens on (useful with PORT=0). */
  readonly port: number;
  /** Resolves once NATS and PostgreSQL are connected; rejects if closed before. */
  readonly ready: Promise<void>;
  /** Report unready, stop accepting, end SSE streams, drain NATS, close the pool; idempotent. */
  close(): Promise<void>;
}

/** The identity parts of an ApiContext: key and tenant caches, rate limits, the audit log. */
export function identityContext(
  connections: Connections,
  log: Logger,
  auth: AuthSettings,
  cacheTtlMs = 1000,
): Pick<ApiContext, 'auth' | 'identities' | 'rateLimiter' | 'audit'> {
  const db = () => connections.db();
  return {
    auth,
    identities: new IdentityStore(db, cacheTtlMs, log),
    rateLimiter: new TenantRateLimiter(),
    audit: new AuditLog(db, log),
  };
}

export interface StartOptions {
  log?: Logger;
  /** Aborting stops the connection retries (the caller still calls close()). */
  signal?: AbortSignal;
}

const CLIENT_NAME = 'niyanta-api';
const IDLE_SWEEP_MS = 50;
/** Node's default time for a request's headers to arrive. */
const HEADERS_TIMEOUT_MS = 60_000;

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Starts the HTTP server at once (so /healthz answers and /readyz says why it is not ready),
 * then connects to NATS and PostgreSQL in the background, retrying until they answer.
 */
export async function start(config: ApiConfig, opts: StartOptions = {}): Promise<ApiServer> {
  const log = opts.log ?? createApiLogger(config.LOG_LEVEL);
  // The first validation compiles every schema (a few hundred ms): now, not in a request's time.
  validateHttp('workloadSubmission', {});
  const connections = new Connections(log);
  const waiters = new IngestWaiters();
  const auth: AuthSettings = {
    enabled: config.AUTH_MODE === AUTH_MODES.enabled,
    rootKey: config.API_ROOT_KEY,
    metricsAuth: config.METRICS_AUTH,
  };
  if (!auth.enabled) {
    log.warn(
      { host: config.HOST },
      'AUTH_MODE=disabled: authentication is off; every request acts as an admin of tenant default',
    );
  }
  const ctx: ApiContext = {
    ...identityContext(connections, log, auth, config.AUTH_CACHE_TTL_MS),
    submitWaitMs: config.SUBMIT_WAIT_MS,
    log,
    connections,
    waiters,
    streams: new SseRegistry({
      maxStreams: config.SSE_MAX_STREAMS,
      maxPerTenant: config.SSE_MAX_STREAMS_PER_TENANT,
      queueMaxBytes: config.SSE_QUEUE_MAX_BYTES,
    }),
    listMaxBytes: config.LIST_MAX_BYTES,
    priorityAgingMs: config.PRIORITY_AGING_MS,
    scheduleTestSeconds: config.SCHEDULE_TEST_SECONDS,
    metrics: createMetrics(),
  };
  if (config.SECRETS_KEY !== undefined) {
    const keys = parseSecretKeys(config.SECRETS_KEY);
    if (!('problems' in keys)) ctx.secretKeys = keys;
  }
  const app = createApp(ctx);
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  server.keepAliveTimeout = config.HTTP_KEEP_ALIVE_MS;
  // The headers timeout must outlast the keep-alive one, or a request arriving on a connection
  // held open for reuse can be judged late (nodejs/node#27363).
  server.headersTimeout = Math.max(HEADERS_TIMEOUT_MS, config.HTTP_KEEP_ALIVE_MS + 1_000);
  const port = await listen(server, config.PORT, config.HOST);
  log.info({ port, host: config.HOST }, 'HTTP server listening; connecting to NATS and PostgreSQL');

  const controller = new AbortController();
  const onOuterAbort = () => controller.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const { signal } = controller;

  const natsReady = connectNats({
    url: config.NATS_URL,
    auth: natsAuth(config),
    inboxPrefix: '_INBOX.api',
    name: CLIENT_NAME,
    log,
    signal,
    streams: streamLimits(config),
  }).then(async (nats) => {
    // A connect that finished as close() began must not leak.
    if (signal.aborted) {
      await nats.close();
      throw signal.reason;
    }
    // An ingest notice wakes the POST waiting for its workloads.
    waiters.listen(nats.nc);
    connections.setNats(nats);
  });
  let registration: InstanceRegistration | undefined;
  const dbReady = connectDatabase({
    url: config.DATABASE_URL,
    name: CLIENT_NAME,
    log,
    signal,
  }).then(async (db) => {
    if (signal.aborted) {
      await db.close();
      throw signal.reason;
    }
    connections.setDb(db);
    // Listed by GET /v1/cluster; each instance writes only its own row.
    registration = await registerInstance({
      db: db.db,
      service: 'api',
      instanceId: newInstanceId('api'),
      role: () => ROLES.member,
      log,
    });
  });
  const ready = Promise.all([natsReady, dbReady]).then(() =>
    log.info('ready: NATS and PostgreSQL connected'),
  );
  ready.catch(() => undefined); // reported to whoever awaits it; closing early is not an error here

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      connections.setDraining();
      controller.abort();
      opts.signal?.removeEventListener('abort', onOuterAbort);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      ctx.streams.closeAll();
      // Requests in flight (a POST waiting for its row) finish; idle keep-alive sockets go now.
      const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
      server.closeIdleConnections();
      const deadline = setTimeout(
        () => server.closeAllConnections(),
        config.SUBMIT_WAIT_MS + 2_000,
      );
      try {
        await closed;
      } finally {
        clearInterval(sweep);
        clearTimeout(deadline);
      }
      await Promise.allSettled([natsReady, dbReady]);
      await registration?.close();
      await connections.close();
      log.info('API stopped');
    })());

  // SIGHUP: limits read per request take their new values at once.
  const reload = (next: ApiConfig) => {
    ctx.submitWaitMs = next.SUBMIT_WAIT_MS;
    ctx.listMaxBytes = next.LIST_MAX_BYTES;
  };
  return { port, ready, close, reload, [Symbol.asyncDispose]: close };
}
