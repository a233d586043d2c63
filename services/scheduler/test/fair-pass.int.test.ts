import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { uuidv7 } from '@niyanta/messages';
import { createTestDatabase } from '@niyanta/testing';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { FairQueue } from '../src/placement/fair-queue.js';

// A placement pass reads the queue a page at a time; what one page placed counts into the
// tenants' shares for the next. A row a page offered but could not place (no slot left) takes
// nothing: counting it would push its tenant back in the next page's order.

const worker = {
  id: 'w1',
  capacity: { slots: 8, cpu: 4, memoryMb: 8192, gpu: 0 },
  types: ['fair'],
};

describe('a fair-share pass over several pages', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Kysely<Database>;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb(database.url, { max: 2 });
    await sql`insert into tenants (id, name, weight)
      values ('fp-c', 'c', 3), ('fp-d', 'd', 1)`.execute(db);
    for (const tenant of ['fp-c', 'fp-d'])
      await sql`insert into workloads (id, tenant, type, status, priority, max_attempts, input)
        select v.id, ${tenant}, 'fair', 'PENDING', 500, 3, '{}'
        from unnest(${Array.from({ length: 10 }, () => uuidv7())}::uuid[]) as v(id)`.execute(db);
  });
  afterAll(async () => {
    await db.destroy();
    await database[Symbol.asyncDispose]();
  });

  it('counts into the next page only the rows placed, not those offered and left', async () => {
    const tenantsOf = (rows: readonly { tenant: string }[]) => rows.map((r) => r.tenant);
    await db.transaction().execute(async (trx) => {
      const pass = new FairQueue({ agingMs: 0 }).pass(trx, [worker], []);
      // One free slot: both heads are offered (a tie goes to the smaller id), one is placed.
      const first = await pass.next(1, ['fair']);
      expect(tenantsOf(first.offered)).toEqual(['fp-c', 'fp-d']);
      pass.placed(first.offered.slice(0, 1));
      // Six more slots freed meanwhile: DRF from c 1, d 0 with weights 3:1.
      const second = await pass.next(6, ['fair']);
      expect(tenantsOf(second.offered).slice(0, 6)).toEqual([
        'fp-d',
        'fp-c',
        'fp-c',
        'fp-d',
        'fp-c',
        'fp-c',
      ]);
    });
  });
});
