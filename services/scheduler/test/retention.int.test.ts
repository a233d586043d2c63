import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { uuidv7 } from '@niyanta/messages';
import { createLogger, runRetention } from '@niyanta/runtime';
import { createTestDatabase } from '@niyanta/testing';
import type { TestDatabase } from '@niyanta/testing';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { deleteOldDeadLetters, deleteOldRejections, schedulerRetention } from '../src/retention.js';
import { deleteEndedWorkloads } from '../src/workload-core/statements/delete-ended.js';
import {
  CHILD_GONE_AFTER_MS,
  resolveChildrenWaits,
} from '../src/workload-core/statements/resolve-children-waits.js';

const log = createLogger('retention-test', 'silent');
let database: TestDatabase;
let db: Kysely<Database>;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDb(database.url, { max: 4 });
});

afterAll(async () => {
  await db?.destroy();
  await database?.[Symbol.asyncDispose]();
});

beforeEach(async () => {
  await sql`truncate workloads, workload_dependencies, workload_events, workload_waits, checkpoints, rejected_submissions, dead_letters, placement_explanations`.execute(
    db,
  );
});

/** A workload in `status` that ended (or, active, was last updated) `daysAgo` days ago, with an event. */
async function workload(
  status: string,
  daysAgo: number,
  child?: { parentId: string; index: number },
): Promise<string> {
  const id = uuidv7();
  const at = sql<Date>`now() - ${daysAgo}::int * interval '1 day'`;
  await db
    .insertInto('workloads')
    .values({
      id,
      tenant: 'default',
      type: 'noop',
      status,
      priority: 500,
      max_attempts: 3,
      input: '{}',
      labels: '{}',
      requirements: '{}',
      finished_at: ['COMPLETED', 'FAILED', 'CANCELLED'].includes(status) ? at : null,
      updated_at: at,
      ...(child === undefined ? {} : { parent_id: child.parentId, child_index: child.index }),
    } as never)
    .execute();
  await db
    .insertInto('workload_events')
    .values({ workload_id: id, from_status: null, to_status: status, attempt: 0 } as never)
    .execute();
  return id;
}

/** An open children wait of `parentId` at call order `seq` for the children in `ranges`. */
async function gatherWait(parentId: string, seq: number, ranges: [number, number][]) {
  await sql`insert into workload_waits (workload_id, seq, kind, attempt, spec)
    values (${parentId}, ${seq}, 'children', 1, ${JSON.stringify({ ranges })}::jsonb)`.execute(db);
}

const ids = async (table: 'workloads') =>
  (await db.selectFrom(table).select('id').execute()).map((r) => r.id).sort();
const eventIds = async () =>
  [
    ...new Set(
      (await db.selectFrom('workload_events').select('workload_id').execute()).map(
        (r) => r.workload_id,
      ),
    ),
  ].sort();

describe('scheduler retention', () => {
  it('deletes ended workloads past retention with their events, keeps newer and active ones', async () => {
    const old = [
      await workload('COMPLETED', 31),
      await workload('FAILED', 40),
      await workload('CANCELLED', 100),
    ];
    const kept = [
      await workload('COMPLETED', 29),
      await workload('RUNNING', 100),
      await workload('PENDING', 100),
      await workload('PAUSED', 100),
    ];
    const deleted = await runRetention(schedulerRetention(db, 30), log);
    expect(deleted).toMatchObject({ workloads: old.length });
    expect(await ids('workloads')).toEqual([...kept].sort());
    expect(await eventIds()).toEqual([...kept].sort());
  });

  it('keeps an ended child while its parent has not ended, so a gather still finds it', async () => {
    const parent = await workload('WAITING', 100);
    const children = [
      await workload('COMPLETED', 60, { parentId: parent, index: 0 }),
      await workload('FAILED', 60, { parentId: parent, index: 1 }),
    ];
    await gatherWait(parent, 0, [[0, 1]]);
    // A child of a parent that is gone (past retention itself) goes as any workload does.
    const orphan = await workload('COMPLETED', 60, { parentId: uuidv7(), index: 0 });
    await runRetention(schedulerRetention(db, 30), log);
    expect(await ids('workloads')).toEqual([parent, ...children].sort());
    // The parent's gather resolves with both children read from their rows.
    expect((await resolveChildrenWaits(db, { parentIds: [parent], limit: 10 })).resolved).toEqual([
      parent,
    ]);
    expect(await ids('workloads')).not.toContain(orphan);
    // Once the parent has ended, its children go past retention (and then the parent).
    await sql`update workloads set status = 'COMPLETED', finished_at = now() - interval '40 days'
      where id = ${parent}`.execute(db);
    await runRetention(schedulerRetention(db, 30), log);
    await runRetention(schedulerRetention(db, 30), log);
    expect(await ids('workloads')).toEqual([]);
  });

  it('resolves a gather whose child has no row once CHILD_GONE_AFTER_MS has passed, not before', async () => {
    const parent = await workload('WAITING', 0);
    await workload('COMPLETED', 0, { parentId: parent, index: 0 });
    // Child 1 has no row: its spawn may still be on its way.
    await gatherWait(parent, 0, [[0, 1]]);
    expect((await resolveChildrenWaits(db, { parentIds: [parent], limit: 10 })).resolved).toEqual(
      [],
    );
    await sql`update workload_waits set created_at = now() - ${CHILD_GONE_AFTER_MS + 60_000}::int
      * interval '1 millisecond' where workload_id = ${parent}`.execute(db);
    expect((await resolveChildrenWaits(db, { parentIds: [parent], limit: 10 })).resolved).toEqual([
      parent,
    ]);
  });

  it('keeps everything with WORKLOAD_RETENTION_DAYS 0', async () => {
    const old = await workload('COMPLETED', 3650);
    await runRetention(schedulerRetention(db, 0), log);
    expect(await ids('workloads')).toEqual([old]);
  });

  it('deletes in bounded batches, and a batch leaves a workload whose checkpoints remain', async () => {
    const old: string[] = [];
    for (let i = 0; i < 7; i++) old.push(await workload('COMPLETED', 60));
    const held = old[0]!;
    await db
      .insertInto('checkpoints')
      .values({
        workload_id: held,
        seq: 1,
        attempt: 1,
        size: 2,
        sha256: 'a'.repeat(64),
        storage: 'inline',
        data: Buffer.from('x'),
      })
      .execute();
    expect(await deleteEndedWorkloads(db, 30, 3)).toBe(3);
    expect(await ids('workloads')).toHaveLength(4);
    const result = await runRetention(schedulerRetention(db, 30), log, {
      batch: 2,
      maxBatches: 10,
    });
    expect(result['workloads']).toBe(3);
    expect(await ids('workloads')).toEqual([held]);
    // The checkpoint service deletes the checkpoints; then the workload goes.
    await db.deleteFrom('checkpoints').execute();
    expect(await deleteEndedWorkloads(db, 30, 10)).toBe(1);
  });

  it('stops a run after maxBatches, and a failed batch ends only its own step', async () => {
    for (let i = 0; i < 5; i++) await workload('COMPLETED', 60);
    const first = await runRetention(schedulerRetention(db, 30), log, { batch: 1, maxBatches: 2 });
    expect(first['workloads']).toBe(2);
    expect(await ids('workloads')).toHaveLength(3);
    let calls = 0;
    const result = await runRetention(
      [
        {
          name: 'broken',
          step: () => {
            calls++;
            return Promise.reject(new Error('connection lost'));
          },
        },
        ...schedulerRetention(db, 30),
      ],
      log,
    );
    expect(calls).toBe(1);
    expect(result).toMatchObject({ broken: 0, workloads: 3 });
  });

  it('deletes rejected submissions and dead letters older than 7 days', async () => {
    const rejection = (days: number, seq: number) =>
      db
        .insertInto('rejected_submissions')
        .values({
          subject: 'niyanta.submit.default',
          tenant: 'default',
          stream_seq: seq,
          msg_id: null,
          reason: 'bad',
          errors: '[]',
          raw: '{}',
          created_at: sql<Date>`now() - ${days}::int * interval '1 day'`,
        } as never)
        .returning('stream_seq')
        .executeTakeFirstOrThrow();
    const letter = (days: number, seq: number) =>
      db
        .insertInto('dead_letters')
        .values({
          stream: 'NIYANTA_COMPLETE',
          consumer: 'scheduler-complete',
          subject: 'niyanta.complete.x',
          stream_seq: seq,
          msg_id: null,
          tenant: null,
          headers: null,
          data: Buffer.from('x'),
          error: 'kept failing',
          deliveries: 5,
          first_seen_at: sql<Date>`now() - ${days + 1}::int * interval '1 day'`,
          last_seen_at: sql<Date>`now() - ${days}::int * interval '1 day'`,
        } as never)
        .execute();
    for (let i = 1; i <= 4; i++) await rejection(8, i);
    await rejection(6, 5);
    for (let i = 1; i <= 4; i++) await letter(8, i);
    await letter(6, 5);
    expect(await deleteOldRejections(db, 3)).toBe(3);
    expect(await deleteOldDeadLetters(db, 3)).toBe(3);
    await runRetention(schedulerRetention(db, 30), log);
    const left = await db.selectFrom('rejected_submissions').select('stream_seq').execute();
    expect(left.map((r) => Number(r.stream_seq))).toEqual([5]);
    const letters = await db.selectFrom('dead_letters').select('stream_seq').execute();
    expect(letters.map((r) => Number(r.stream_seq))).toEqual([5]);
  });
});
