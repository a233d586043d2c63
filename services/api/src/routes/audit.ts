import { Hono } from 'hono';
import type { Context } from 'hono';
import type { ApiContext } from '../api-context.js';
import { listAudit, verifyAudit } from '../audit/audit-log.js';
import { TENANT_HEADER } from '../auth/authenticate.js';
import { requirePermission } from '../auth/principal.js';
import { decodePosition, encodePosition } from '../opaque-cursor.js';
import { parseIntParam } from '../params.js';

export const AUDIT_LIST_LIMIT = { min: 1, max: 500, default: 50 } as const;

/** Whose entries a request sees: a tenant's own; root every tenant's unless it names one. */
function auditScope(c: Context): string | undefined {
  const principal = requirePermission(c, 'audit:read');
  if (principal.kind === 'root' && c.req.header(TENANT_HEADER) === undefined) return undefined;
  return principal.tenant;
}

/** The audit log: newest entries first, and a check of the whole hash chain. */
export function auditRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get('/v1/audit', async (c) => {
    const tenant = auditScope(c);
    const limit = parseIntParam('limit', c.req.query('limit'), AUDIT_LIST_LIMIT);
    const before = decodePosition(c.req.query('cursor'), (p) => /^[1-9]\d{0,15}$/.test(p));
    const page = await listAudit(ctx.connections.db(), {
      tenant,
      beforeSeq: before === undefined ? undefined : Number(before),
      limit,
    });
    return c.json({
      items: page.items,
      nextCursor: page.more ? encodePosition(String(page.items.at(-1)!.seq)) : null,
    });
  });

  app.get('/v1/audit/verify', async (c) => {
    const tenant = auditScope(c);
    return c.json(await verifyAudit(ctx.connections.db(), tenant));
  });

  return app;
}
