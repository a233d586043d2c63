import { Hono } from 'hono';
import { swaggerUI } from '@hono/swagger-ui';
import type { ApiContext } from '../api-context.js';

/** Liveness, readiness, Prometheus metrics and the API's own documentation. */
export function systemRoutes(ctx: ApiContext, openapi: () => unknown): Hono {
  const app = new Hono();

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    const { ready, checks } = await ctx.connections.readiness();
    const status = ready ? 'ready' : ctx.connections.isDraining ? 'draining' : 'not ready';
    return c.json({ status, checks }, ready ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    const body = await ctx.metrics.registry.metrics();
    return c.body(body, 200, { 'content-type': ctx.metrics.registry.contentType });
  });

  app.get('/openapi.json', (c) => c.json(openapi()));

  app.get('/docs', swaggerUI({ url: '/openapi.json', title: 'Niyanta API' }));

  return app;
}
