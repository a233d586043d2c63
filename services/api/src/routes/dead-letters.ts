import { Hono } from 'hono';
import { sql } from 'kysely';
import type { Selectable } from 'kysely';
import type { DeadLettersTable } from '@niyanta/db';
import { isUuid } from '@niyanta/messages';
import type { DeadLetterRecordV1 } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { noteAudit } from '../auth/principal.js';
import { ResourceNotFoundError, ValidationError } from '../errors.js';
import { decodePosition, encodePosition } from '../opaque-cursor.js';
import { parseIntParam } from '../params.js';
import { republish } from '../replay/republish.js';
import { recordScope } from '../replay/scope.js';

export const DEAD_LETTER_LIST_LIMIT = { min: 1, max: 500, default: 50 } as const;

/**
 * Body bytes one page carries at most: a page stops early past it (with at least one item), so
 * that 500 dead letters of a megabyte each cannot make one answer of half a gigabyte.
 */
export const DEAD_LETTER_PAGE_MAX_BYTES = 4 * 1024 * 1024;

/** A page position: first_seen_at in microseconds since the epoch, and the id. */
const POSITION_RE = /^(\d{1,17}):([0-9a-f-]{36})$/;

/** A listed row: the table's columns, with the body's size and the page position's time. */
type DeadLetterRow = Selectable<DeadLettersTable> & { size: number; first_seen_us: string };

function toDeadLetter(r: DeadLetterRow): DeadLetterRecordV1 {
  return {
    id: r.id,
    stream: r.stream,
    consumer: r.consumer,
    subject: r.subject,
    streamSeq: Number(r.stream_seq),
    msgId: r.msg_id,
    tenant: r.tenant,
    headers: r.headers,
    data: r.data.toString('base64'),
    size: r.size,
    error: r.error,
    deliveries: r.deliveries,
    firstSeenAt: new Date(r.first_seen_at).toISOString(),
    lastSeenAt: new Date(r.last_seen_at).toISOString(),
  };
}

function parseDeadLetterId(value: string): string {
  if (!isUuid(value)) {
    throw new ValidationError(
      `dead letter id ${JSON.stringify(value.slice(0, 100))} is not a UUID: use an id GET /v1/dead-letters listed`,
      [{ path: 'id', in: 'path', message: 'must be a UUID' }],
    );
  }
  return value.toLowerCase();
}

/**
 * Dead letters (admin): a tenant's own (those whose subject names it), every one for the root
 * key; a replay publishes the original again and is audited.
 */
export function deadLetterRoutes(ctx: ApiContext): Hono {
  const app = new Hono();

  app.get('/v1/dead-letters', async (c) => {
    const tenant = recordScope(c, 'deadletters:read');
    const limit = parseIntParam('limit', c.req.query('limit'), DEAD_LETTER_LIST_LIMIT);
    const position = decodePosition(c.req.query('cursor'), (p) => POSITION_RE.test(p));
    const db = ctx.connections.db();
    // The bodies are read only for the rows the page keeps.
    let query = db
      .selectFrom('dead_letters')
      .select([
        'id',
        'stream',
        'consumer',
        'subject',
        'stream_seq',
        'msg_id',
        'tenant',
        'headers',
        'error',
        'deliveries',
        'first_seen_at',
        'last_seen_at',
      ])
      .select(sql<number>`octet_length(data)`.as('size'))
      .select(
        sql<string>`(extract(epoch from first_seen_at) * 1000000)::bigint`.as('first_seen_us'),
      );
    if (tenant !== undefined) query = query.where('tenant', '=', tenant);
    if (position !== undefined) {
      const [, us, id] = POSITION_RE.exec(position)!;
      // Microseconds, as PostgreSQL keeps them: a Date (milliseconds) would repeat or skip rows.
      query = query.where(
        sql<boolean>`(first_seen_at, id) < (timestamptz 'epoch' + ${us}::bigint * interval '1 microsecond', ${id}::uuid)`,
      );
    }
    const rows = await query
      .orderBy('first_seen_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    let kept = 0;
    let bytes = 0;
    while (
      kept < Math.min(limit, rows.length) &&
      (kept === 0 || bytes < DEAD_LETTER_PAGE_MAX_BYTES)
    )
      bytes += Number(rows[kept++]!.size);
    const page = rows.slice(0, kept);
    const bodies = new Map<string, Buffer>();
    if (page.length > 0) {
      const found = await db
        .selectFrom('dead_letters')
        .select(['id', 'data'])
        .where(
          'id',
          'in',
          page.map((r) => r.id),
        )
        .execute();
      for (const b of found) bodies.set(b.id, b.data);
    }
    const last = page.at(-1);
    return c.json({
      // A row deleted between the two reads (retention) is left out.
      items: page
        .filter((r) => bodies.has(r.id))
        .map((r) =>
          toDeadLetter({
            ...(r as Omit<DeadLetterRow, 'data'>),
            data: bodies.get(r.id) ?? Buffer.alloc(0),
          }),
        ),
      nextCursor:
        rows.length > kept && last !== undefined
          ? encodePosition(`${last.first_seen_us}:${last.id}`)
          : null,
    });
  });

  app.post('/v1/dead-letters/:id/replay', async (c) => {
    const tenant = recordScope(c, 'deadletters:replay');
    const id = parseDeadLetterId(c.req.param('id'));
    let query = ctx.connections
      .db()
      .selectFrom('dead_letters')
      .select(['subject', 'tenant', 'headers', 'data'])
      .where('id', '=', id);
    if (tenant !== undefined) query = query.where('tenant', '=', tenant);
    const row = await query.executeTakeFirst();
    if (row === undefined) throw new ResourceNotFoundError('dead letter', id);
    const replay = await republish(
      ctx.connections.nats(),
      {
        subject: row.subject,
        data: row.data,
        headers: row.headers,
        replayMsgId: `replay:dead:${id}`,
      },
      `dead letter ${id}`,
    );
    noteAudit(c, {
      target: `/v1/dead-letters/${id} -> ${replay.stream} seq ${replay.streamSeq}${replay.duplicate ? ' (duplicate)' : ''}`,
      ...(row.tenant === null ? {} : { tenant: row.tenant }),
    });
    return c.json(replay, 202);
  });

  return app;
}
