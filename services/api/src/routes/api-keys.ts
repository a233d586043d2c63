import { Hono } from 'hono';
import type { ApiKeyCreatedV1, ApiKeyV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { KEY_ID_RE, newApiKey } from '../auth/api-key-format.js';
import type { ApiKeyRow } from '../auth/identity-store.js';
import { noteAudit, requirePermission } from '../auth/principal.js';
import { ResourceNotFoundError, ValidationError } from '../errors.js';
import { decodePosition, encodePosition } from '../opaque-cursor.js';
import { parseIntParam } from '../params.js';
import { MAX_BODY_BYTES, readBody } from '../body.js';

export const KEY_LIST_LIMIT = { min: 1, max: 500, default: 50 } as const;

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

function toApiKey(row: ApiKeyRow): ApiKeyV1 {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    tenant: row.tenant,
    createdAt: iso(row.created_at)!,
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
  };
}

/** The API keys of the request's tenant: an admin (or root, on the tenant it names) manages them. */
export function apiKeyRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.post('/v1/api-keys', async (c) => {
    const principal = requirePermission(c, 'keys:manage');
    const body = await readBody(c, { schema: 'apiKeyCreate', limitBytes: MAX_BODY_BYTES });
    const { id, key, secretSha256 } = newApiKey();
    const row = await ctx.connections
      .db()
      .insertInto('api_keys')
      .values({
        id,
        tenant: principal.tenant,
        name: body.name,
        role: body.role,
        secret_sha256: secretSha256,
        created_by: principal.actor,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    noteAudit(c, { target: `/v1/api-keys/${id}` });
    const created: ApiKeyCreatedV1 = {
      id,
      key,
      name: row.name,
      role: row.role,
      tenant: row.tenant,
      createdAt: iso(row.created_at)!,
    };
    return c.json(created, 201, { Location: `/v1/api-keys/${id}` });
  });

  app.get('/v1/api-keys', async (c) => {
    const { tenant } = requirePermission(c, 'keys:manage');
    const limit = parseIntParam('limit', c.req.query('limit'), KEY_LIST_LIMIT);
    const before = decodePosition(c.req.query('cursor'), (p) => KEY_ID_RE.test(p));
    let query = ctx.connections
      .db()
      .selectFrom('api_keys')
      .selectAll()
      .where('tenant', '=', tenant);
    if (before !== undefined) query = query.where('id', '<', before);
    const rows = await query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    return c.json({
      items: page.map(toApiKey),
      nextCursor: rows.length > limit ? encodePosition(page.at(-1)!.id) : null,
    });
  });

  app.delete('/v1/api-keys/:id', async (c) => {
    const { tenant } = requirePermission(c, 'keys:manage');
    const id = c.req.param('id');
    if (!KEY_ID_RE.test(id)) {
      throw new ValidationError(
        `API key id ${JSON.stringify(id.slice(0, 100))} is not a key id: use the id POST /v1/api-keys returned (32 hex digits)`,
        [{ path: 'id', in: 'path', message: 'must be 32 lowercase hex digits' }],
      );
    }
    const db = ctx.connections.db();
    // Revoking twice keeps the first time.
    const row = await db
      .updateTable('api_keys')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(new Date())) }))
      .where('id', '=', id)
      .where('tenant', '=', tenant)
      .returning('id')
      .executeTakeFirst();
    if (row === undefined) throw new ResourceNotFoundError('API key', id);
    ctx.identities.forgetKey(id);
    return c.body(null, 204);
  });

  return app;
}
