import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { DEFAULT_TENANT, uuidv7 } from '@niyanta/messages';
import type { WorkloadStatus } from '@niyanta/messages';
import { createTestDatabase } from '@niyanta/testing';
import fc from 'fast-check';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { BLOCKED_REASON_TEMPLATES, reasonOf } from '../src/blocked-types.js';
import type { Offer, Resources } from '../src/placement/fit.js';
import {
  blockedTypeWrite,
  saturatedTenantReason,
  unplacedWrite,
} from '../src/workload-core/decisions/pending-reason.js';
import type { PendingWrite } from '../src/workload-core/decisions/pending-reason.js';
import { unparks } from '../src/workload-core/decisions/unpark.js';
import type { Executor } from '../src/workload-core/statements/executor.js';
import { explainBlockedTypes } from '../src/workload-core/statements/explain-blocked-types.js';
import { explainSaturatedTenants } from '../src/workload-core/statements/explain-saturated-tenants.js';
import { recordUnplaced } from '../src/workload-core/statements/record-unplaced.js';
import { unparkFitting } from '../src/workload-core/statements/unpark-fitting.js';
import { inRolledBack } from './rolled-back.js';

// The statements that write why a PENDING workload waits, and whether it is parked, are held
// here to agree with their decisions on rows drawn at random: each row the statement writes is
// one the decision writes, with the same reason and parking, and no other row is touched.

const STATUSES: WorkloadStatus[] = [
  'PENDING',
  'PENDING',
  'SCHEDULED',
  'RUNNING',
  'PAUSED',
  'COMPLETED',
  'CANCELLED',
];
const TYPES = ['a', 'b', 'c'];
const TENANTS = [DEFAULT_TENANT, 'pending-t2', 'pending-t3'];
const REASONS = [
  null,
  'waiting',
  ...TYPES.flatMap((t) => Object.values(BLOCKED_REASON_TEMPLATES).map((x) => reasonOf(x, t))),
  ...TENANTS.map((t) => `tenant ${t} is at its maxRunning 1`),
];

interface Row {
  status: WorkloadStatus;
  type: string;
  tenant: string;
  pending_reason: string | null;
  parked: boolean;
  deps_waiting: number;
  requirements: Resources;
}

const needs: fc.Arbitrary<Resources> = fc.record(
  {
    cpu: fc.constantFrom(0, 0.25, 1, 2, 4),
    memoryMb: fc.constantFrom(0, 512, 2048, 8192),
    gpu: fc.constantFrom(0, 0.5, 1, 2),
  },
  { requiredKeys: [] },
);
const offer: fc.Arbitrary<Offer> = fc.record({
  cpu: fc.constantFrom(0.5, 1, 2, 4),
  memoryMb: fc.constantFrom(512, 2048, 8192),
  gpu: fc.constantFrom(0, 0.5, 1, 2),
});
/** The reasons a row of `type` and `tenant` may hold: those the statements write, mostly. */
const reasonsFor = (type: string, tenant: string) => [
  null,
  'waiting',
  ...Object.values(BLOCKED_REASON_TEMPLATES).map((x) => reasonOf(x, type)),
  `tenant ${tenant} is at its maxRunning 1`,
];
const rowArb: fc.Arbitrary<Row> = fc
  .record({
    status: fc.constantFrom(...STATUSES),
    type: fc.constantFrom(...TYPES),
    tenant: fc.constantFrom(...TENANTS),
    parked: fc.boolean(),
    waitsOnDependency: fc.boolean(),
    requirements: needs,
  })
  .chain(({ waitsOnDependency, ...r }) =>
    fc.constantFrom(...reasonsFor(r.type, r.tenant)).map((pending_reason) => {
      const parked = r.status === 'PENDING' ? r.parked : false;
      // A row waiting on a dependency is always a parked PENDING one.
      return { ...r, pending_reason, parked, deps_waiting: parked && waitsOnDependency ? 1 : 0 };
    }),
  );
const subset = <T>(xs: readonly T[]) => fc.subarray([...xs]);

/** Inserts the rows, written an hour ago; returns their ids in order. */
async function insertRows(db: Executor, rows: readonly Row[]): Promise<string[]> {
  const ids = rows.map(() => uuidv7());
  await sql`insert into workloads (id, tenant, type, status, attempt, priority, max_attempts,
      input, requirements, pending_reason, parked, deps_waiting, updated_at)
    select v.id, v.tenant, v.type, v.status, 1, 0, 3, '{}', v.requirements, v.pending_reason,
      v.parked, v.deps_waiting, now() - interval '1 hour'
    from jsonb_to_recordset(${JSON.stringify(rows.map((r, i) => ({ ...r, id: ids[i] })))}::jsonb)
      as v(id uuid, tenant text, type text, status text, requirements jsonb, pending_reason text,
        parked boolean, deps_waiting int)`.execute(db);
  return ids;
}

/** Each row's reason and parking after a statement, and whether it was written. */
async function after(db: Executor, ids: readonly string[]) {
  const { rows } = await sql<{
    id: string;
    pending_reason: string | null;
    parked: boolean;
    written: boolean;
  }>`select id, pending_reason, parked, updated_at > now() - interval '1 minute' as written
    from workloads where id = any(${ids}::uuid[])`.execute(db);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => {
    const { id: _id, ...rest } = byId.get(id)!;
    return rest;
  });
}

/** What the decision leaves of `row`: `write` applied, or the row unwritten. */
function expected(row: Row, write: PendingWrite | undefined) {
  return write === undefined
    ? { pending_reason: row.pending_reason, parked: row.parked, written: false }
    : { pending_reason: write.reason, parked: write.parked, written: true };
}

describe('the pending-reason statements agree with their decisions', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Kysely<Database>;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb(database.url, { max: 2 });
    await sql`insert into tenants (id, name) values ('pending-t2', 't2'), ('pending-t3', 't3')`.execute(
      db,
    );
  });
  afterAll(async () => {
    await db.destroy();
    await database[Symbol.asyncDispose]();
  });

  it('recordUnplaced writes what unplacedWrite decides of each row the queue read', async () => {
    const left = fc.record({
      reason: fc.constantFrom(...REASONS.filter((r) => r !== null)),
      parked: fc.boolean(),
    });
    // The queue reads unparked PENDING rows; by the write a row may have moved on.
    const read = rowArb.map((r) => ({ ...r, parked: false, deps_waiting: 0 }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(read, fc.option(left, { nil: undefined })), {
          minLength: 1,
          maxLength: 25,
        }),
        async (cases) => {
          await inRolledBack(db, async (trx) => {
            const rows = cases.map(([r]) => r);
            const ids = await insertRows(trx, rows);
            const unplaced = cases.flatMap(([, u], i) =>
              u === undefined ? [] : [{ workloadId: ids[i]!, ...u }],
            );
            await recordUnplaced(
              trx,
              unplaced,
              new Map(ids.map((id, i) => [id, { pending_reason: rows[i]!.pending_reason }])),
            );
            expect(await after(trx, ids)).toEqual(
              cases.map(([r, u]) => expected(r, u === undefined ? undefined : unplacedWrite(r, u))),
            );
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('explainBlockedTypes writes what blockedTypeWrite decides, and returns the types it parked', async () => {
    const availability = subset(TYPES).chain((live) =>
      subset(live).map((open) => ({ live: new Set(live), open: new Set(open) })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowArb, { minLength: 1, maxLength: 25 }),
        availability,
        async (rows, avail) => {
          await inRolledBack(db, async (trx) => {
            const ids = await insertRows(trx, rows);
            const parkedTypes = await explainBlockedTypes(trx, avail, 1000);
            const writes = rows.map((r) => blockedTypeWrite(r, avail));
            expect(await after(trx, ids)).toEqual(rows.map((r, i) => expected(r, writes[i])));
            const parkedNow = rows.filter((_, i) => writes[i]?.parked === true).map((r) => r.type);
            expect(parkedTypes.sort()).toEqual([...new Set(parkedNow)].sort());
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('explainSaturatedTenants writes the reason saturatedTenantReason gives', async () => {
    const saturated = subset(TENANTS).chain((tenants) =>
      fc.tuple(
        ...tenants.map((tenant) =>
          fc
            .constantFrom(...REASONS.filter((r) => r !== null))
            .map((reason) => ({ tenant, reason })),
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowArb, { minLength: 1, maxLength: 25 }),
        saturated,
        async (rows, sat) => {
          await inRolledBack(db, async (trx) => {
            const ids = await insertRows(trx, rows);
            await explainSaturatedTenants(trx, sat, 1000);
            expect(await after(trx, ids)).toEqual(
              rows.map((r) => {
                const reason = saturatedTenantReason(r, sat);
                return expected(r, reason === undefined ? undefined : { reason, parked: r.parked });
              }),
            );
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('unparkFitting un-parks exactly the rows unparks brings back', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowArb, { minLength: 1, maxLength: 25 }),
        fc.constantFrom(...TYPES),
        fc.array(offer, { minLength: 1, maxLength: 3 }),
        async (rows, type, offers) => {
          await inRolledBack(db, async (trx) => {
            const ids = await insertRows(trx, rows);
            const step = await unparkFitting(trx, type, offers, null, 1000);
            const back = rows.map((r) => unparks(r, type, offers));
            expect(step.unparked).toBe(back.filter(Boolean).length);
            expect(step.scanned).toBe(
              rows.filter((r) => r.parked && r.deps_waiting === 0 && r.type === type).length,
            );
            expect(await after(trx, ids)).toEqual(
              rows.map((r, i) =>
                back[i]
                  ? { pending_reason: null, parked: false, written: true }
                  : expected(r, undefined),
              ),
            );
          });
        },
      ),
      { numRuns: 40 },
    );
  });
});
