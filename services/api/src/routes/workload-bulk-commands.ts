import { Hono } from 'hono';
import { sql } from 'kysely';
import { envelope } from '@niyanta/messages';
import type {
  CommandV1,
  WorkloadBulkCommandV1,
  WorkloadBulkResultV1,
  WorkloadStatus,
} from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import { noteAudit, requirePermission } from '../auth/principal.js';
import { MAX_BATCH_BODY_BYTES, readBody } from '../body.js';
import { ValidationError } from '../errors.js';
import { HTTP_COMMANDS, sendCommands } from './workload-commands.js';
import type { HttpCommand } from './workload-commands.js';

/** The most workloads one call by filter acts on; `matched` still counts them all. */
export const BULK_FILTER_MAX = 10_000;

interface Matched {
  id: string;
  status: WorkloadStatus;
}

function exactlyOneSelector(body: WorkloadBulkCommandV1): void {
  if ((body.ids === undefined) === (body.filter === undefined)) {
    const message = 'give exactly one of ids (at most 1,000) and filter';
    throw new ValidationError(`the body must ${message}`, [{ path: '', in: 'body', message }]);
  }
}

/** The tenant's workloads the body names, and how many the filter matches in all. */
async function matchedWorkloads(
  ctx: ApiContext,
  tenant: string,
  body: WorkloadBulkCommandV1,
): Promise<{ rows: Matched[]; total: number }> {
  const db = ctx.connections.db();
  let query = db.selectFrom('workloads').where('tenant', '=', tenant);
  if (body.ids !== undefined) {
    const rows = await query
      .select(['id', 'status'])
      .where(
        'id',
        'in',
        body.ids.map((id) => id.toLowerCase()),
      )
      .execute();
    return { rows: rows as Matched[], total: rows.length };
  }
  const f = body.filter!;
  if (f.status !== undefined) query = query.where('status', '=', f.status);
  if (f.type !== undefined) query = query.where('type', '=', f.type);
  if (f.scheduleId !== undefined)
    query = query.where('schedule_id', '=', f.scheduleId.toLowerCase());
  if (f.labels !== undefined)
    query = query.where(sql<boolean>`labels @> ${JSON.stringify(f.labels)}::jsonb`);
  const rows = (await query
    .select(['id', 'status'])
    .orderBy('id')
    .limit(BULK_FILTER_MAX + 1)
    .execute()) as Matched[];
  if (rows.length <= BULK_FILTER_MAX) return { rows, total: rows.length };
  const counted = await query.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirst();
  return { rows: rows.slice(0, BULK_FILTER_MAX), total: Number(counted?.n ?? rows.length) };
}

/**
 * `POST /v1/workloads/cancel|pause|resume`: the command for every named workload in a status it
 * applies to, published together; one audit entry with the counts.
 */
export function workloadBulkCommandRoutes(ctx: ApiContext): Hono {
  const app = new Hono();
  for (const command of Object.keys(HTTP_COMMANDS) as HttpCommand[]) {
    app.post(`/v1/workloads/${command}`, async (c) => {
      const { tenant } = requirePermission(c, 'workloads:operate');
      const body = await readBody(c, {
        schema: 'workloadBulkCommand',
        limitBytes: MAX_BATCH_BODY_BYTES,
      });
      exactlyOneSelector(body);
      const { rows, total } = await matchedWorkloads(ctx, tenant, body);
      const applies = rows.filter((r) => HTTP_COMMANDS[command].allowed(r.status));
      const messages: CommandV1[] = applies.map((r) => ({
        ...envelope(),
        workloadId: r.id,
        command,
        ...(body.reason === undefined ? {} : { reason: body.reason }),
      }));
      if (messages.length > 0)
        await sendCommands(ctx, tenant, command, messages, c.req.header('traceparent'));
      const result: WorkloadBulkResultV1 = { matched: total, changed: messages.length };
      if (body.ids !== undefined) {
        const sent = new Set(applies.map((r) => r.id));
        const found = new Map(rows.map((r) => [r.id, r.status]));
        result.items = body.ids.map((raw) => {
          const id = raw.toLowerCase();
          return { id, status: found.get(id) ?? 'NOT_FOUND', sent: sent.has(id) };
        });
      }
      noteAudit(c, {
        target: `/v1/workloads (${command}: matched ${result.matched}, changed ${result.changed})`,
      });
      return c.json(result, 202);
    });
  }
  return app;
}
