import { Hono } from 'hono';
import type { Context } from 'hono';
import type { TenantV1 } from '@niyanta/messages';
import { sql } from 'kysely';
import type { ApiContext } from '../api-context.js';
import { TENANT_ID_RE } from '../auth/authenticate.js';
import type { TenantRow } from '../auth/identity-store.js';
import { noteAudit, requirePermission } from '../auth/principal.js';
import { roleAllows } from '../auth/roles.js';
import {
  AlreadyExistsError,
  ForbiddenError,
  ResourceNotFoundError,
  ValidationError,
} from '../errors.js';
import { MAX_BODY_BYTES, readBody } from '../body.js';

const iso = (d: Date | string) => new Date(d).toISOString();

/** The tenant as the API answers it. */
export function toTenant(row: TenantRow, usage?: { pending: number; running: number }): TenantV1 {
  return {
    id: row.id,
    name: row.name,
    weight: row.weight,
    quotas: row.quotas ?? {},
    rateLimit: row.rate_limit ?? null,
    status: row.status,
    ...(usage === undefined ? {} : { usage }),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** The `{id}` of a tenant path: 400 naming it when it is not a tenant id. */
function tenantIdParam(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!TENANT_ID_RE.test(id)) {
    throw new ValidationError(
      `tenant id ${JSON.stringify(id.slice(0, 100))} is not a tenant id: use 1-63 characters from a-z 0-9 -, starting with a letter or digit`,
      [{ path: 'id', in: 'path', message: 'must match ^[a-z0-9][a-z0-9-]{0,62}$' }],
    );
  }
  return id;
}

const notFound = (id: string) => new ResourceNotFoundError('tenant', id);

/** Tenants: root manages them; a tenant's keys read their own, its admin renames it. */
export function tenantRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.post('/v1/tenants', async (c) => {
    requirePermission(c, 'tenants:manage');
    const body = await readBody(c, { schema: 'tenantCreate', limitBytes: MAX_BODY_BYTES });
    const row = await ctx.connections
      .db()
      .insertInto('tenants')
      .values({
        id: body.id,
        name: body.name ?? body.id,
        weight: body.weight ?? 1,
        quotas: JSON.stringify(body.quotas ?? {}),
        rate_limit: body.rateLimit === undefined ? null : JSON.stringify(body.rateLimit),
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) throw new AlreadyExistsError('tenant', body.id);
    ctx.identities.forgetTenant(row.id);
    noteAudit(c, { tenant: row.id, target: `/v1/tenants/${row.id}` });
    return c.json(toTenant(row), 201, { Location: `/v1/tenants/${row.id}` });
  });

  app.get('/v1/tenants', async (c) => {
    requirePermission(c, 'tenants:manage');
    const rows = await ctx.connections
      .db()
      .selectFrom('tenants')
      .selectAll()
      .orderBy('id')
      .execute();
    return c.json({ items: rows.map((r) => toTenant(r)) });
  });

  app.get('/v1/tenants/:id', async (c) => {
    const principal = requirePermission(c, 'tenant:read');
    const id = tenantIdParam(c);
    if (principal.kind !== 'root' && principal.tenant !== id) throw notFound(id);
    const db = ctx.connections.db();
    const row = await db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw notFound(id);
    const { rows } = await sql<{ pending: string; running: string }>`
      select count(*) filter (where status in ('PENDING', 'SCHEDULED')) as pending,
             count(*) filter (where status in ('SCHEDULED', 'RUNNING')) as running
      from workloads where tenant = ${id} and status in ('PENDING', 'SCHEDULED', 'RUNNING')`.execute(
      db,
    );
    return c.json(
      toTenant(row, {
        pending: Number(rows[0]?.pending ?? 0),
        running: Number(rows[0]?.running ?? 0),
      }),
    );
  });

  app.patch('/v1/tenants/:id', async (c) => {
    const principal = requirePermission(c, 'tenant:read');
    const id = tenantIdParam(c);
    if (principal.kind !== 'root' && principal.tenant !== id) throw notFound(id);
    requirePermission(c, 'tenant:rename');
    const body = await readBody(c, { schema: 'tenantPatch', limitBytes: MAX_BODY_BYTES });
    if (!roleAllows(principal.role, 'tenants:manage')) {
      const field = Object.keys(body).find((k) => k !== 'name');
      if (field !== undefined) {
        throw new ForbiddenError(
          `role ${principal.role} lacks the permission tenants:manage to change ${field}: only the root key sets weight, quotas, rateLimit and status`,
          { role: principal.role, permission: 'tenants:manage' },
          { path: `/${field}`, in: 'body', message: 'only the root key may change it' },
        );
      }
    }
    const row = await ctx.connections
      .db()
      .updateTable('tenants')
      .set({
        ...(body.name === undefined ? {} : { name: body.name }),
        ...(body.weight === undefined ? {} : { weight: body.weight }),
        ...(body.quotas === undefined ? {} : { quotas: JSON.stringify(body.quotas) }),
        ...(body.rateLimit === undefined
          ? {}
          : { rate_limit: body.rateLimit === null ? null : JSON.stringify(body.rateLimit) }),
        ...(body.status === undefined ? {} : { status: body.status }),
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) throw notFound(id);
    ctx.identities.forgetTenant(id);
    noteAudit(c, { tenant: id });
    return c.json(toTenant(row));
  });

  return app;
}
