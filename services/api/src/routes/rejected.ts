import { Hono } from 'hono';
import type { RejectedSubmissionV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { noteAudit } from '../auth/principal.js';
import { ResourceNotFoundError, ValidationError } from '../errors.js';
import { decodePosition, encodePosition } from '../opaque-cursor.js';
import { parseIntParam } from '../params.js';
import { republish } from '../replay/republish.js';
import { recordScope } from '../replay/scope.js';

export const REJECTED_LIST_LIMIT = { min: 1, max: 500, default: 50 } as const;

/** A bigserial id: what PostgreSQL's bigint holds, without leading zeros. */
const REJECTED_ID_RE = /^[1-9]\d{0,17}$/;

function parseRejectedId(value: string): string {
  if (!REJECTED_ID_RE.test(value)) {
    throw new ValidationError(
      `rejected submission id ${JSON.stringify(value.slice(0, 100))} is not one: use an id GET /v1/rejected listed (decimal digits)`,
      [{ path: 'id', in: 'path', message: 'must be a positive integer' }],
    );
  }
  return value;
}

const iso = (d: Date | string) => new Date(d).toISOString();

/**
 * Broker submissions the scheduler refused (admin): a tenant's own, every one for the root key; a
 * replay (after a fix, such as creating the missing tenant) publishes the body again on its
 * subject, and is audited.
 */
export function rejectedRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get('/v1/rejected', async (c) => {
    const tenant = recordScope(c, 'deadletters:read');
    const limit = parseIntParam('limit', c.req.query('limit'), REJECTED_LIST_LIMIT);
    const before = decodePosition(c.req.query('cursor'), (p) => REJECTED_ID_RE.test(p));
    let query = ctx.connections.db().selectFrom('rejected_submissions').selectAll();
    if (tenant !== undefined) query = query.where('tenant', '=', tenant);
    if (before !== undefined) query = query.where('id', '<', before);
    const rows = await query
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    const items: RejectedSubmissionV1[] = page.map((r) => ({
      id: String(r.id),
      subject: r.subject,
      tenant: r.tenant,
      streamSeq: Number(r.stream_seq),
      msgId: r.msg_id,
      reason: r.reason,
      errors: r.errors,
      raw: r.raw,
      createdAt: iso(r.created_at),
    }));
    return c.json({
      items,
      nextCursor: rows.length > limit ? encodePosition(String(page.at(-1)!.id)) : null,
    });
  });

  app.post('/v1/rejected/:id/replay', async (c) => {
    const tenant = recordScope(c, 'deadletters:replay');
    const id = parseRejectedId(c.req.param('id'));
    let query = ctx.connections
      .db()
      .selectFrom('rejected_submissions')
      .select(['subject', 'tenant', 'raw'])
      .where('id', '=', id);
    if (tenant !== undefined) query = query.where('tenant', '=', tenant);
    const row = await query.executeTakeFirst();
    if (row === undefined) throw new ResourceNotFoundError('rejected submission', id);
    const replay = await republish(
      ctx.connections.nats(),
      {
        subject: row.subject,
        data: Buffer.from(row.raw, 'utf8'),
        headers: null,
        replayMsgId: `replay:rejected:${id}`,
      },
      `rejected submission ${id}`,
    );
    noteAudit(c, {
      target: `/v1/rejected/${id} -> ${replay.stream} seq ${replay.streamSeq}${replay.duplicate ? ' (duplicate)' : ''}`,
      ...(row.tenant === null ? {} : { tenant: row.tenant }),
    });
    return c.json(replay, 202);
  });

  return app;
}
