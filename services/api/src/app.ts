import { Hono } from 'hono';
import { routePath } from 'hono/route';
import type { ApiContext } from './api-context.js';
import { NotFoundError } from './errors.js';
import { buildOpenApi } from './openapi.js';
import { errorToResponse } from './problem.js';
import { systemRoutes } from './routes/system.js';
import { workerRoutes } from './routes/workers.js';
import { workloadCheckpointRoutes } from './routes/workload-checkpoints.js';
import { workloadCommandRoutes } from './routes/workload-commands.js';
import { workloadEventRoutes } from './routes/workload-events.js';
import { workloadLogRoutes } from './routes/workload-logs.js';
import { workloadRoutes } from './routes/workloads.js';

/** Route label of requests no route matched: keeps the metric's cardinality bounded. */
const UNMATCHED_ROUTE = 'unmatched';

/** The HTTP API as a hono app (no server): every route, one error mapper, request metrics. */
export function createApp(ctx: ApiContext): Hono {
  const app = new Hono();
  let openapi: unknown;

  app.use('*', async (c, next) => {
    const end = ctx.metrics.httpDuration.startTimer();
    try {
      await next();
    } finally {
      const route = routePath(c, -1);
      end({
        method: c.req.method,
        route: route === '*' || route === '/*' ? UNMATCHED_ROUTE : route,
        status: String(c.res.status),
      });
    }
  });

  app.route(
    '/',
    systemRoutes(ctx, () => (openapi ??= buildOpenApi())),
  );
  app.route('/', workloadRoutes(ctx));
  app.route('/', workloadCommandRoutes(ctx));
  app.route('/', workloadEventRoutes(ctx));
  app.route('/', workloadLogRoutes(ctx));
  app.route('/', workloadCheckpointRoutes(ctx));
  app.route('/', workerRoutes(ctx));

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
