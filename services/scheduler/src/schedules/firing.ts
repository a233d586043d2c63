import type { JetStreamClient } from '@nats-io/jetstream';
import type { Kysely, Selectable } from 'kysely';
import { sql } from 'kysely';
import type { Database, ScheduleCursorsTable, SchedulesTable } from '@niyanta/db';
import {
  FINAL_STATUSES,
  SUBJECTS,
  enveloped,
  publishAll,
  submissionMsgId,
  uuidv7,
} from '@niyanta/messages';
import type { CommandV1, Outgoing, SubmissionV1, WorkloadStatus } from '@niyanta/messages';
import { compileCron, dueFireTimes, firingKey, ScheduleFieldError } from '@niyanta/schedules';
import type { CompiledCron } from '@niyanta/schedules';
import type { Logger } from '../logger.js';

/** Schedules looked at per tick, soonest first; the rest wait for the next tick. */
const SCHEDULES_PER_TICK = 500;

type Schedule = Selectable<SchedulesTable>;
type Cursor = Selectable<ScheduleCursorsTable>;
/** `updated_at` also as PostgreSQL's text, exact to the microsecond, to write back unchanged. */
type Due = Schedule & { cursor: Cursor | null; updated_at_text: string };

export interface ScheduleFiringDeps {
  db: Kysely<Database>;
  js: JetStreamClient;
  log: Logger;
  /** Test-only SCHEDULE_TEST_SECONDS: six-field expressions with seconds. */
  allowSeconds: boolean;
}

/** A schedule's previous firing, when it has not ended yet. */
async function unfinishedPrevious(
  db: Kysely<Database>,
  s: Schedule,
): Promise<{ id: string; status: WorkloadStatus } | undefined> {
  const row = await db
    .selectFrom('workloads')
    .select(['id', 'status'])
    .where('tenant', '=', s.tenant)
    .where('schedule_id', '=', s.id)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const status = row.status as WorkloadStatus;
  return FINAL_STATUSES.includes(status) ? undefined : { id: row.id, status };
}

/** The submission of one firing: the schedule's body under the firing's idempotency key. */
function firingSubmission(s: Schedule, fireTime: Date): Outgoing<'submission'> {
  const idempotencyKey = firingKey(s.id, fireTime);
  const message: SubmissionV1 = {
    ...(s.workload as Omit<SubmissionV1, 'schemaVersion' | 'id'>),
    schemaVersion: 1,
    id: uuidv7(),
    idempotencyKey,
    submittedBy: `schedule-${s.id}`,
  };
  return {
    kind: 'submission',
    subject: SUBJECTS.submit(s.tenant),
    message,
    msgId: submissionMsgId(s.tenant, message.id, idempotencyKey),
    traceparent: null,
  };
}

function cancelCommand(s: Schedule, workloadId: string): Outgoing<'command'> {
  return {
    kind: 'command',
    subject: SUBJECTS.command(s.tenant),
    message: enveloped<CommandV1>({
      workloadId,
      command: 'cancel',
      reason: `schedule ${s.name} fired again (overlap cancelPrevious)`,
    }),
    traceparent: null,
  };
}

/**
 * What one due schedule sends now: its firings after the overlap rule, and a cancel of the
 * previous firing for `cancelPrevious`. At most one firing is sent while the previous one runs.
 */
async function firingsOf(
  deps: ScheduleFiringDeps,
  s: Schedule,
  fireTimes: Date[],
): Promise<Outgoing[]> {
  if (fireTimes.length === 0 || s.paused) return [];
  if (s.overlap === 'allow') return fireTimes.map((t) => firingSubmission(s, t));
  const previous = await unfinishedPrevious(deps.db, s);
  const last = fireTimes.at(-1)!;
  if (previous === undefined) return fireTimes.map((t) => firingSubmission(s, t));
  if (s.overlap === 'skip') {
    deps.log.info(
      { scheduleId: s.id, previous: previous.id, skipped: fireTimes.map((t) => t.toISOString()) },
      'schedule firing skipped: its previous workload has not ended (overlap skip)',
    );
    return [];
  }
  return [cancelCommand(s, previous.id), firingSubmission(s, last)];
}

function compiled(s: Schedule, allowSeconds: boolean): CompiledCron | undefined {
  try {
    return compileCron({ cron: s.cron, timezone: s.timezone, allowSeconds });
  } catch (err) {
    if (err instanceof ScheduleFieldError) return undefined;
    throw err;
  }
}

/**
 * Submits every schedule's due firings, then records how far each is handled. A firing is sent
 * before its cursor moves, with the idempotency key `schedule:<id>:<fire time>`: a crash between
 * the two sends it again, and the broker and ingest keep one workload per key.
 */
export async function fireDueSchedules(deps: ScheduleFiringDeps, now = new Date()): Promise<void> {
  const rows = await deps.db
    .selectFrom('schedules as s')
    .leftJoin('schedule_cursors as c', 'c.schedule_id', 's.id')
    .selectAll('s')
    .select(sql<Cursor | null>`to_jsonb(c)`.as('cursor'))
    .select(sql<string>`s.updated_at::text`.as('updated_at_text'))
    .where((eb) =>
      eb.or([
        eb('c.schedule_id', 'is', null),
        eb('c.next_fire_at', '<=', now),
        eb('c.seen_updated_at', '<', eb.ref('s.updated_at')),
      ]),
    )
    .orderBy('c.next_fire_at')
    .limit(SCHEDULES_PER_TICK)
    .execute();
  // One schedule that cannot fire (a stored body the broker refuses) never holds up the others.
  for (const row of rows as Due[]) {
    try {
      await fireOne(deps, row, now);
    } catch (err) {
      deps.log.error(
        { err, scheduleId: row.id, tenant: row.tenant },
        'schedule could not fire; trying again next tick',
      );
    }
  }
}

/** Sends one schedule's due firings, then moves its cursor to `now`. */
async function fireOne(deps: ScheduleFiringDeps, row: Due, now: Date): Promise<void> {
  const { db } = deps;
  const cron = compiled(row, deps.allowSeconds);
  const after = new Date(row.cursor?.handled_until ?? row.created_at);
  const fireTimes =
    cron === undefined ? [] : dueFireTimes({ cron, after, now, catchUp: row.catch_up });
  const outgoing = await firingsOf(deps, row, fireTimes);
  if (outgoing.length > 0) await publishAll(deps.js, outgoing);
  const fired = outgoing.some((o) => o.kind === 'submission');
  const next = cron?.nextRuns(1, now)[0] ?? null;
  await db
    .insertInto('schedule_cursors')
    .values({
      schedule_id: row.id,
      handled_until: now,
      next_fire_at: next,
      last_fire_at: fired ? fireTimes.at(-1)! : (row.cursor?.last_fire_at ?? null),
      seen_updated_at: sql<Date>`${row.updated_at_text}::timestamptz`,
    })
    .onConflict((oc) =>
      oc.column('schedule_id').doUpdateSet((eb) => ({
        handled_until: eb.ref('excluded.handled_until'),
        next_fire_at: eb.ref('excluded.next_fire_at'),
        last_fire_at: eb.ref('excluded.last_fire_at'),
        seen_updated_at: eb.ref('excluded.seen_updated_at'),
      })),
    )
    .execute();
}

/** Cursors of deleted schedules (the API deletes schedules; this table is the scheduler's). */
export async function forgetDeletedSchedules(db: Kysely<Database>): Promise<number> {
  const result = await db
    .deleteFrom('schedule_cursors')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('schedules')
            .select('id')
            .whereRef('schedules.id', '=', 'schedule_cursors.schedule_id'),
        ),
      ),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
