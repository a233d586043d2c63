import { Hono } from 'hono';
import type { MeV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { requirePermission } from '../auth/principal.js';

/** Who the request's key is: what the dashboard shows and which buttons it offers. */
export function meRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get('/v1/me', (c) => {
    const principal = requirePermission(c, 'workloads:read');
    const me: MeV1 = {
      kind: principal.kind,
      tenant: principal.tenant,
      role: principal.role,
      keyId: principal.kind === 'key' ? principal.actor : null,
      authentication: ctx.auth.enabled ? 'enabled' : 'disabled',
    };
    return c.json(me);
  });

  return app;
}
