import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { DEFAULT_TENANT, ensureStreams, uuidv7 } from '@niyanta/messages';
import { createTestDatabase, startNatsServer } from '@niyanta/testing';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { Backlog } from '../src/backlog.js';
import { holds } from '../src/placement/fit.js';
import type { Offer, Resources } from '../src/placement/fit.js';
import { createSchedulerLogger } from '../src/logger.js';
import { Parking } from '../src/placement/parking.js';
import { unparkFitting } from '../src/workload-core/statements/unpark-fitting.js';
import { CYCLE_ROWS_MAX, Placer } from '../src/placement/placer.js';
import type { PlacementWorker } from '../src/placement/place-workloads.js';
import { UsageLedger } from '../src/placement/usage-ledger.js';

jest.setTimeout(120_000);

const log = createSchedulerLogger('silent');
const worker: PlacementWorker = {
  id: 'w1',
  capacity: { slots: 8, cpu: 4, memoryMb: 8192, gpu: 0 },
  types: ['noop'],
};
const TOO_BIG = { cpu: 64, gpu: 34 };

/** Inserts `count` PENDING `noop` rows needing TOO_BIG at priority 1000, as ingest stores them. */
async function insertUnplaceable(
  db: Kysely<Database>,
  count: number,
  parked: boolean,
): Promise<void> {
  await sql`
    insert into workloads (id, tenant, type, status, attempt, priority, max_attempts, input,
      requirements, pending_reason, parked)
    select gen_random_uuid(), ${DEFAULT_TENANT}, 'noop', 'PENDING', 0, 1000, 3, '1'::jsonb,
      ${JSON.stringify(TOO_BIG)}::jsonb,
      case when ${parked} then 'needs cpu 64 but the largest live worker offers 4' end, ${parked}
    from generate_series(1, ${count})`.execute(db);
}

/** An ordinary PENDING `noop` row, behind the others in the queue (lower priority). */
async function insertOrdinary(db: Kysely<Database>): Promise<string> {
  const id = uuidv7();
  await sql`
    insert into workloads (id, tenant, type, status, attempt, priority, max_attempts, input)
    values (${id}, ${DEFAULT_TENANT}, 'noop', 'PENDING', 0, 500, 3, '{}')`.execute(db);
  return id;
}

/**
 * Rows of `workloads` PostgreSQL has counted as read (sequential scans, index entries, heap
 * fetches), this backend's own included: give it a pool of one connection.
 */
async function rowsRead(db: Kysely<Database>): Promise<number> {
  await sql`select pg_stat_force_next_flush()`.execute(db);
  const { rows } = await sql<{ n: string }>`
    select (select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
        from pg_stat_user_tables where relname = 'workloads')
      + (select coalesce(sum(idx_tup_read), 0)
        from pg_stat_user_indexes where relname = 'workloads') as n`.execute(db);
  return Number(rows[0]!.n);
}

async function statusOf(db: Kysely<Database>, id: string): Promise<string> {
  const row = await db
    .selectFrom('workloads')
    .select('status')
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return row.status;
}

describe('the placement cycle and parked workloads', () => {
  it('places an ordinary workload in the next cycle behind 100,000 parked ones, reading none of them', async () => {
    await using nats = await startNatsServer();
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 1 });
    const nc = await connect({ servers: nats.url });
    try {
      await ensureStreams(await jetstreamManager(nc));
      await insertUnplaceable(db, 100_000, true);
      const ordinary = await insertOrdinary(db);
      const placer = new Placer({
        db,
        js: jetstream(nc),
        nc,
        ledger: new UsageLedger(),
        backlog: new Backlog(),
        parking: new Parking(),
        liveWorkers: () => [worker],
        sweepMs: 60_000,
        log,
      });
      const before = await rowsRead(db);
      // With the sweep's look at blocked types, which must not read them either.
      const result = await placer.cycle();
      const read = (await rowsRead(db)) - before;
      expect(result).toMatchObject({ considered: 1, placed: 1, parked: 0 });
      expect(await statusOf(db, ordinary)).toBe('SCHEDULED');
      // The ordinary row found in the queue index, fetched, and updated: a handful, not 100,000.
      expect(read).toBeLessThan(20);
    } finally {
      await nc.drain();
      await db.destroy();
    }
  });

  it('parks what it reads and cannot ever place, at most CYCLE_ROWS_MAX rows a cycle, and goes on', async () => {
    await using nats = await startNatsServer();
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 2 });
    const nc = await connect({ servers: nats.url });
    try {
      await ensureStreams(await jetstreamManager(nc));
      // Not parked yet: the worker that could take them left, say.
      const count = 2 * CYCLE_ROWS_MAX + 10;
      await insertUnplaceable(db, count, false);
      const ordinary = await insertOrdinary(db);
      const placer = new Placer({
        db,
        js: jetstream(nc),
        nc,
        ledger: new UsageLedger(),
        backlog: new Backlog(),
        parking: new Parking(),
        liveWorkers: () => [worker],
        sweepMs: 60_000,
        log,
      });
      const cycles = [];
      for (let i = 0; i < 5 && (await statusOf(db, ordinary)) === 'PENDING'; i++)
        cycles.push(await placer.cycle());
      expect(cycles.map((c) => [c.considered, c.parked, c.placed, c.more])).toEqual([
        [CYCLE_ROWS_MAX, CYCLE_ROWS_MAX, 0, true],
        [CYCLE_ROWS_MAX, CYCLE_ROWS_MAX, 0, true],
        [11, 10, 1, false],
      ]);
      const { rows } = await sql<{ parked: number }>`
        select count(*)::int as parked from workloads
        where parked and pending_reason = 'needs cpu 64 but the largest live worker offers 4'`.execute(
        db,
      );
      expect(rows[0]!.parked).toBe(count);
    } finally {
      await nc.drain();
      await db.destroy();
    }
  });
});

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('un-parking', () => {
  it('un-parks exactly the rows the fit rule says an offer holds, a bounded page at a time', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 2 });
    try {
      const r = rng(18);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
      const needs = (): Resources => {
        const out: Resources = {};
        if (r() < 0.7) out.cpu = pick([0, 0.25, 0.5, 1, 1.5, 2, 3.75, 4, 8]);
        if (r() < 0.7) out.memoryMb = pick([0, 256, 1024, 2048, 4096, 8192]);
        if (r() < 0.5) out.gpu = pick([0, 1, 2, 4]);
        return out;
      };
      const rows = Array.from({ length: 400 }, () => ({ id: uuidv7(), needs: needs() }));
      const other = uuidv7(); // another type: never looked at
      await sql`
        insert into workloads (id, tenant, type, status, priority, max_attempts, input,
          requirements, pending_reason, parked)
        select v.id, ${DEFAULT_TENANT}, v.type, 'PENDING', 500, 3, '{}', v.requirements, 'parked', true
        from jsonb_to_recordset(${JSON.stringify([
          ...rows.map((w) => ({ id: w.id, type: 'fit', requirements: w.needs })),
          { id: other, type: 'other', requirements: {} },
        ])}::jsonb) as v(id uuid, type text, requirements jsonb)`.execute(db);
      const offers: Offer[] = [
        { cpu: 2, memoryMb: 4096, gpu: 0 },
        { cpu: 0.5, memoryMb: 8192, gpu: 2 },
        { cpu: 3.75, memoryMb: 1024, gpu: 1 },
      ];

      let after: string | null = null;
      let pages = 0;
      for (;;) {
        const page = await unparkFitting(db, 'fit', offers, after, 37);
        pages++;
        if (page.scanned < 37) break;
        after = page.last;
      }
      expect(pages).toBe(Math.floor(rows.length / 37) + 1);

      const { rows: left } = await sql<{ id: string; parked: boolean; pending_reason: string }>`
        select id, parked, pending_reason from workloads`.execute(db);
      const byId = new Map(left.map((w) => [w.id, w]));
      const expected = rows.filter((w) => offers.some((o) => holds(o, w.needs)));
      expect(expected.length).toBeGreaterThan(50);
      expect(expected.length).toBeLessThan(350);
      for (const w of rows) {
        const fits = offers.some((o) => holds(o, w.needs));
        expect([w.needs, byId.get(w.id)!.parked]).toEqual([w.needs, !fits]);
        expect(byId.get(w.id)!.pending_reason).toBe(fits ? null : 'parked');
      }
      expect(byId.get(other)!.parked).toBe(true);
    } finally {
      await db.destroy();
    }
  });

  it('looks again at the types of a parking decided on a fleet that has grown since', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 2 });
    try {
      const parking = new Parking();
      const decidedOn = parking.current;
      parking.grew(['noop']); // a worker that fits joins while the decision commits
      expect(await parking.step(db, [worker])).toEqual({ stepped: true, unparked: 0 });
      await insertUnplaceable(db, 3, true); // ... and commits after the look began
      await sql`update workloads set requirements = '{}'`.execute(db);
      expect(parking.pending).toBe(false);
      parking.parked(decidedOn, ['noop']);
      expect(parking.pending).toBe(true);
      expect(await parking.step(db, [worker])).toEqual({ stepped: true, unparked: 3 });
      parking.parked(parking.current, ['noop']); // decided on the current fleet: nothing to do
      expect(parking.pending).toBe(false);
    } finally {
      await db.destroy();
    }
  });
});
