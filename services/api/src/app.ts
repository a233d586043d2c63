import { Hono } from 'hono';
import { routePath } from 'hono/route';
import type { ApiContext } from './api-context.js';
import { NotFoundError, UnauthorizedError } from './errors.js';
import { buildOpenApi } from './openapi.js';
import { startHttpSpan } from './http-span.js';
import { errorToResponse } from './problem.js';
import { systemRoutes } from './routes/system.js';
import { workerRoutes } from './routes/workers.js';
import { clusterRoutes } from './routes/cluster.js';
import { workloadCheckpointRoutes } from './routes/workload-checkpoints.js';
import { workloadPlacementRoutes } from './routes/workload-placement.js';
import { scheduleRoutes } from './routes/schedules.js';
import { workloadBulkCommandRoutes } from './routes/workload-bulk-commands.js';
import { workloadCommandRoutes } from './routes/workload-commands.js';
import { workloadSignalRoutes } from './routes/workload-signals.js';
import { workloadEventRoutes } from './routes/workload-events.js';
import { workloadLogRoutes } from './routes/workload-logs.js';
import { workloadRoutes } from './routes/workloads.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { secretRoutes } from './routes/secrets.js';
import { auditRoutes } from './routes/audit.js';
import { tenantRoutes } from './routes/tenants.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { rejectedRoutes } from './routes/rejected.js';
import { meRoutes } from './routes/me.js';
import { workloadCountRoutes } from './routes/workload-counts.js';
import { workloadHistoryRoutes } from './routes/workload-history.js';
import { uiRoutes } from './routes/ui.js';
import { authenticate, needsAuthentication } from './auth/authenticate.js';
import { auditNoteOf, principalIfAny, setPrincipal } from './auth/principal.js';

/** Route label of requests no route matched: keeps the metric's cardinality bounded. */
const UNMATCHED_ROUTE = 'unmatched';

/** Methods that change nothing: never an audit entry. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Submissions are recorded by their workload row (with the submitting key), not the audit log. */
const UNAUDITED_ROUTES = new Set(['POST /v1/workloads', 'POST /v1/workloads/batch']);
/** Longest target text an audit entry keeps of a request path. */
const MAX_TARGET_CHARS = 500;

const isAudited = (status: number) => (status >= 200 && status < 300) || status === 403;

/** The HTTP API as a hono app (no server): every route, one error mapper, request metrics. */
export function createApp(ctx: ApiContext): Hono {
  const app = new Hono();
  let openapi: unknown;

  app.use('*', async (c, next) => {
    const end = ctx.metrics.httpDuration.startTimer();
    const span = startHttpSpan(c.req.method, c.req.path, c.req.header('traceparent'));
    try {
      await span.around(() => next());
    } finally {
      const route = routePath(c, -1);
      const labels = {
        method: c.req.method,
        route: route === '*' || route === '/*' ? UNMATCHED_ROUTE : route,
        status: String(c.res.status),
      };
      end(labels);
      span.end(labels.route, c.res.status);
    }
  });

  // Authentication, the tenant's rate limit, and the audit entry of every state-changing request.
  app.use('*', async (c, next) => {
    if (!needsAuthentication(c.req.path, ctx.auth)) return next();
    const target = c.req.path.slice(0, MAX_TARGET_CHARS);
    try {
      setPrincipal(c, await authenticate(ctx, c));
    } catch (err) {
      if (err instanceof UnauthorizedError)
        void ctx.audit.failedAuthentication(`${c.req.method} ${target}`, err.status);
      throw err;
    }
    const principal = principalIfAny(c)!;
    let rateHeaders: Record<string, string> = {};
    if (principal.kind === 'key') {
      const tenant = await ctx.identities.tenant(principal.tenant);
      rateHeaders = ctx.rateLimiter.take(principal.tenant, tenant?.rate_limit ?? null);
    }
    await next();
    for (const [name, value] of Object.entries(rateHeaders)) c.res.headers.set(name, value);
    const action = `${c.req.method} ${routePath(c, -1)}`;
    if (READ_METHODS.has(c.req.method) || UNAUDITED_ROUTES.has(action)) return;
    if (!isAudited(c.res.status)) return;
    const note = auditNoteOf(c);
    await ctx.audit.record({
      tenant: note.tenant ?? principal.tenant,
      actor: principal.actor,
      action,
      target: note.target ?? target,
      outcome: c.res.status,
    });
  });

  app.route(
    '/',
    systemRoutes(ctx, () => (openapi ??= buildOpenApi())),
  );
  app.route('/', uiRoutes({ authEnabled: ctx.auth.enabled }));
  app.route('/', meRoutes(ctx));
  app.route('/', workloadCountRoutes(ctx));
  app.route('/', workloadRoutes(ctx));
  app.route('/', workloadHistoryRoutes(ctx));
  app.route('/', workloadBulkCommandRoutes(ctx));
  app.route('/', workloadCommandRoutes(ctx));
  app.route('/', workloadSignalRoutes(ctx));
  app.route('/', scheduleRoutes(ctx));
  app.route('/', workloadEventRoutes(ctx));
  app.route('/', workloadLogRoutes(ctx));
  app.route('/', workloadCheckpointRoutes(ctx));
  app.route('/', workloadPlacementRoutes(ctx));
  app.route('/', workerRoutes(ctx));
  app.route('/', clusterRoutes(ctx));
  app.route('/', tenantRoutes(ctx));
  app.route('/', apiKeyRoutes(ctx));
  app.route('/', secretRoutes(ctx));
  app.route('/', auditRoutes(ctx));
  app.route('/', deadLetterRoutes(ctx));
  app.route('/', rejectedRoutes(ctx));

  app.notFound((c) =>
    errorToResponse(
      new NotFoundError(`no route ${c.req.method} ${c.req.path}: see /openapi.json for the API`),
      c,
      ctx.log,
    ),
  );
  app.onError((err, c) => errorToResponse(err, c, ctx.log));
  return app;
}
