import { Hono } from 'hono';
import type { ApiContext } from '../api-context.js';
import { ValidationError } from '../errors.js';
import { DOCS_PAGE, docsAsset } from '../swagger-ui.js';
import { renderApiMetrics } from '../metrics.js';

/** How long a browser may keep the docs assets (they change only with the installed package). */
const ASSET_MAX_AGE_S = 3600;

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
    const { body, contentType } = await renderApiMetrics(ctx.metrics);
    return c.body(body, 200, { 'content-type': contentType });
  });

  app.get('/openapi.json', (c) => c.json(openapi()));

  app.get('/docs', (c) => c.html(DOCS_PAGE));

  app.get('/docs/:asset', async (c) => {
    const asset = await docsAsset(c.req.param('asset'));
    if (asset === undefined) {
      const name = c.req.param('asset');
      // Like /ui/assets: a name the page never references is a bad parameter, not a missing page.
      throw new ValidationError(
        `${JSON.stringify(name.slice(0, 100))} is not a file of the /docs page`,
        [{ path: 'asset', in: 'path', message: 'must be a file the /docs page references' }],
      );
    }
    return c.body(asset.body, 200, {
      'content-type': asset.contentType,
      'cache-control': `public, max-age=${ASSET_MAX_AGE_S}`,
    });
  });

  return app;
}
