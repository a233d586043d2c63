import { Hono } from 'hono';
import type { Context } from 'hono';
import { sql } from 'kysely';
import type { Selectable } from 'kysely';
import type { ScheduleOverlap, SchedulesTable } from '@niyanta/db';
import { isUuid, uuidv7 } from '@niyanta/messages';
import type {
  ScheduleCreateV1,
  SchedulePatchV1,
  ScheduleV1,
  WorkloadSubmissionV1,
} from '@niyanta/messages';
import { DEFAULT_TIMEZONE, ScheduleFieldError, compileCron, firingKey } from '@niyanta/schedules';
import type { ApiContext } from '../api-context.js';
import { noteAudit, requirePermission } from '../auth/principal.js';
import { MAX_BODY_BYTES, readBody } from '../body.js';
import { AlreadyExistsError, ResourceNotFoundError, ValidationError } from '../errors.js';
import { decodeCursor, encodeCursor, parseIntParam } from '../params.js';
import { checkDependsOn } from '../submission-dependencies.js';
import { submitWorkloads } from '../submissions.js';

export const SCHEDULE_LIST_LIMIT = { min: 1, max: 500, default: 50 } as const;
/** How many next fire times a schedule shows. */
const NEXT_RUNS = 5;

type ScheduleRow = Selectable<SchedulesTable> & { last_fire_at?: Date | string | null };

const iso = (d: Date | string) => new Date(d).toISOString();

/** The schedule as the API answers it; `now` decides the next runs. */
export function toSchedule(row: ScheduleRow, allowSeconds: boolean, now = new Date()): ScheduleV1 {
  let nextRuns: ScheduleV1['nextRuns'] = [];
  if (!row.paused) {
    try {
      const cron = compileCron({ cron: row.cron, timezone: row.timezone, allowSeconds });
      nextRuns = cron
        .nextRuns(NEXT_RUNS, now)
        .map((d) => d.toISOString()) as ScheduleV1['nextRuns'];
    } catch (err) {
      if (!(err instanceof ScheduleFieldError)) throw err;
    }
  }
  return {
    id: row.id,
    tenant: row.tenant,
    name: row.name,
    cron: row.cron,
    timezone: row.timezone,
    workload: row.workload,
    overlap: row.overlap,
    catchUp: row.catch_up,
    paused: row.paused,
    nextRuns,
    lastFireAt: row.last_fire_at ? iso(row.last_fire_at) : null,
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

function parseScheduleId(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!isUuid(id)) {
    throw new ValidationError(
      `schedule id ${JSON.stringify(id.slice(0, 100))} is not a UUID: use the id POST /v1/schedules returned`,
      [{ path: 'id', in: 'path', message: 'must be a UUID' }],
    );
  }
  return id.toLowerCase();
}

/** Cron and zone as a 400 naming the field; the body's workload may not bring its own key. */
function checkSchedule(
  body: Partial<Pick<ScheduleCreateV1, 'cron' | 'timezone' | 'workload'>>,
  current: { cron: string; timezone: string } | undefined,
  allowSeconds: boolean,
): void {
  const cron = body.cron ?? current?.cron;
  const timezone = body.timezone ?? current?.timezone ?? DEFAULT_TIMEZONE;
  if (cron !== undefined) {
    try {
      compileCron({ cron, timezone, allowSeconds });
    } catch (err) {
      if (!(err instanceof ScheduleFieldError)) throw err;
      throw new ValidationError(err.message, [
        { path: err.path, in: 'body', message: err.message },
      ]);
    }
  }
  if (body.workload?.idempotencyKey !== undefined) {
    const message =
      "is set by each firing (schedule:<id>:<fire time>): leave it out of the schedule's workload";
    throw new ValidationError(`/workload/idempotencyKey ${message}`, [
      { path: '/workload/idempotencyKey', in: 'body', message },
    ]);
  }
}

const nameTaken = (name: string) =>
  new AlreadyExistsError('schedule', JSON.stringify(name), 'name');

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

/** Cron schedules of the tenant: submitters create and change them, viewers read them. */
export function scheduleRoutes(ctx: ApiContext): Hono {
  const app = new Hono();
  const allowSeconds = ctx.scheduleTestSeconds === true;
  const db = () => ctx.connections.db();

  /** The tenant's schedule with its cursor's last fire time; 404 for another tenant's. */
  async function requireSchedule(tenant: string, id: string): Promise<ScheduleRow> {
    const row = await db()
      .selectFrom('schedules as s')
      .leftJoin('schedule_cursors as c', 'c.schedule_id', 's.id')
      .selectAll('s')
      .select('c.last_fire_at')
      .where('s.tenant', '=', tenant)
      .where('s.id', '=', id)
      .executeTakeFirst();
    if (row === undefined) throw new ResourceNotFoundError('schedule', id);
    return row;
  }

  app.post('/v1/schedules', async (c) => {
    const principal = requirePermission(c, 'schedules:write');
    const body = await readBody(c, { schema: 'scheduleCreate', limitBytes: MAX_BODY_BYTES });
    checkSchedule(body, undefined, allowSeconds);
    await checkDependsOn({ ...ctx, tenant: principal.tenant }, body.workload, '/workload');
    const id = uuidv7();
    let row: ScheduleRow;
    try {
      row = await db()
        .insertInto('schedules')
        .values({
          id,
          tenant: principal.tenant,
          name: body.name,
          cron: body.cron,
          timezone: body.timezone ?? DEFAULT_TIMEZONE,
          workload: JSON.stringify(body.workload),
          overlap: (body.overlap ?? 'skip') as ScheduleOverlap,
          catch_up: body.catchUp ?? 0,
          paused: body.paused ?? false,
          created_by: principal.actor ?? null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(body.name);
      throw err;
    }
    noteAudit(c, { target: `/v1/schedules/${id}` });
    return c.json(toSchedule(row, allowSeconds), 201, { Location: `/v1/schedules/${id}` });
  });

  app.get('/v1/schedules', async (c) => {
    const { tenant } = requirePermission(c, 'schedules:read');
    const limit = parseIntParam('limit', c.req.query('limit'), SCHEDULE_LIST_LIMIT);
    const beforeId = decodeCursor(c.req.query('cursor'));
    let query = db()
      .selectFrom('schedules as s')
      .leftJoin('schedule_cursors as c', 'c.schedule_id', 's.id')
      .selectAll('s')
      .select('c.last_fire_at')
      .where('s.tenant', '=', tenant);
    if (beforeId !== undefined) query = query.where('s.id', '<', beforeId);
    const rows = await query
      .orderBy('s.id', 'desc')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    const now = new Date();
    return c.json({
      items: page.map((r) => toSchedule(r, allowSeconds, now)),
      nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!.id) : null,
    });
  });

  app.get('/v1/schedules/:id', async (c) => {
    const { tenant } = requirePermission(c, 'schedules:read');
    return c.json(toSchedule(await requireSchedule(tenant, parseScheduleId(c)), allowSeconds));
  });

  app.patch('/v1/schedules/:id', async (c) => {
    const { tenant } = requirePermission(c, 'schedules:write');
    const id = parseScheduleId(c);
    const body: SchedulePatchV1 = await readBody(c, {
      schema: 'schedulePatch',
      limitBytes: MAX_BODY_BYTES,
    });
    const current = await requireSchedule(tenant, id);
    checkSchedule(body, current, allowSeconds);
    if (body.workload !== undefined)
      await checkDependsOn({ ...ctx, tenant }, body.workload, '/workload');
    try {
      await db()
        .updateTable('schedules')
        .set({
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.cron === undefined ? {} : { cron: body.cron }),
          ...(body.timezone === undefined ? {} : { timezone: body.timezone }),
          ...(body.workload === undefined ? {} : { workload: JSON.stringify(body.workload) }),
          ...(body.overlap === undefined ? {} : { overlap: body.overlap as ScheduleOverlap }),
          ...(body.catchUp === undefined ? {} : { catch_up: body.catchUp }),
          ...(body.paused === undefined ? {} : { paused: body.paused }),
          updated_at: sql<Date>`now()`,
        })
        .where('tenant', '=', tenant)
        .where('id', '=', id)
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(body.name ?? current.name);
      throw err;
    }
    noteAudit(c, { target: `/v1/schedules/${id}` });
    return c.json(toSchedule(await requireSchedule(tenant, id), allowSeconds));
  });

  app.delete('/v1/schedules/:id', async (c) => {
    const { tenant } = requirePermission(c, 'schedules:write');
    const id = parseScheduleId(c);
    const deleted = await db()
      .deleteFrom('schedules')
      .where('tenant', '=', tenant)
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(deleted.numDeletedRows) === 0) throw new ResourceNotFoundError('schedule', id);
    noteAudit(c, { target: `/v1/schedules/${id}` });
    return c.body(null, 204);
  });

  app.post('/v1/schedules/:id/trigger', async (c) => {
    const principal = requirePermission(c, 'schedules:write');
    const id = parseScheduleId(c);
    const row = await requireSchedule(principal.tenant, id);
    const workload = {
      ...(row.workload as unknown as WorkloadSubmissionV1),
      idempotencyKey: firingKey(id, new Date()),
    };
    const [result] = await submitWorkloads(ctx, principal, [workload], c.req.header('traceparent'));
    noteAudit(c, { target: `/v1/schedules/${id}` });
    const { kind, workload: fired } = result!;
    return c.json(fired, kind === 'submitted' ? 202 : 201, {
      Location: `/v1/workloads/${fired.id}`,
    });
  });

  return app;
}
