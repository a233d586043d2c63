import { Hono } from 'hono';
import type { Context } from 'hono';
import type { SecretListV1 } from '@niyanta/messages';
import { sealSecret } from '@niyanta/runtime';
import type { ApiContext } from '../api-context.js';
import { noteAudit, requirePermission } from '../auth/principal.js';
import { ResourceNotFoundError, UnavailableError, ValidationError } from '../errors.js';
import { MAX_BODY_BYTES, readBody } from '../body.js';

/** Secret names, as the `secrets` table's check has them. */
export const SECRET_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Most secrets a tenant's list answers (every one: a tenant holds a few). */
const SECRET_LIST_MAX = 10_000;

function secretNameParam(c: Context): string {
  const name = c.req.param('name') ?? '';
  if (!SECRET_NAME_RE.test(name)) {
    throw new ValidationError(
      `secret name ${JSON.stringify(name.slice(0, 140))} is not a secret name: use 1-128 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit`,
      [{ path: 'name', in: 'path', message: 'must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' }],
    );
  }
  return name;
}

/**
 * The tenant's secrets: an admin stores (sealed with SECRETS_KEY), lists (names and times only)
 * and deletes them. No route ever answers a value.
 */
export function secretRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.put('/v1/secrets/:name', async (c) => {
    const { tenant } = requirePermission(c, 'secrets:manage');
    const name = secretNameParam(c);
    // The request's own problems (400, 413, 415) before the installation's (503).
    const body = await readBody(c, { schema: 'secretPut', limitBytes: MAX_BODY_BYTES });
    const keys = ctx.secretKeys;
    if (keys === undefined) {
      throw new UnavailableError(
        'SECRETS_KEY is not set on the API: secrets cannot be stored. Set it (and the same on the workers).',
      );
    }
    const { keyId, sealed } = sealSecret(keys, { tenant, name }, body.value);
    const now = new Date();
    await ctx.connections
      .db()
      .insertInto('secrets')
      .values({ tenant, name, key_id: keyId, sealed, created_at: now, updated_at: now })
      .onConflict((oc) =>
        oc.columns(['tenant', 'name']).doUpdateSet({ key_id: keyId, sealed, updated_at: now }),
      )
      .execute();
    noteAudit(c, { target: `/v1/secrets/${name}` });
    return c.body(null, 204);
  });

  app.get('/v1/secrets', async (c) => {
    const { tenant } = requirePermission(c, 'secrets:manage');
    const rows = await ctx.connections
      .db()
      .selectFrom('secrets')
      .select(['name', 'updated_at'])
      .where('tenant', '=', tenant)
      .orderBy('name')
      .limit(SECRET_LIST_MAX)
      .execute();
    const list: SecretListV1 = {
      items: rows.map((r) => ({ name: r.name, updatedAt: new Date(r.updated_at).toISOString() })),
    };
    return c.json(list);
  });

  app.delete('/v1/secrets/:name', async (c) => {
    const { tenant } = requirePermission(c, 'secrets:manage');
    const name = secretNameParam(c);
    const row = await ctx.connections
      .db()
      .deleteFrom('secrets')
      .where('tenant', '=', tenant)
      .where('name', '=', name)
      .returning('name')
      .executeTakeFirst();
    noteAudit(c, { target: `/v1/secrets/${name}` });
    if (row === undefined) throw new ResourceNotFoundError('secret', name);
    return c.body(null, 204);
  });

  return app;
}
