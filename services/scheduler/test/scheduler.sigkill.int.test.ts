import { execFileSync } from 'node:child_process';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createDb } from '@niyanta/db';
import { DEFAULT_TENANT, SUBJECTS, publishAll } from '@niyanta/messages';
import {
  createTestDatabase,
  startNatsServer,
  startServiceProcess,
  waitFor,
} from '@niyanta/testing';
import type { ServiceProcess } from '@niyanta/testing';
import { sql } from 'kysely';
import { submission } from './harness.js';

jest.setTimeout(180_000);

const TOTAL = 2000;
const CHUNK = 50;

beforeAll(() => {
  // The test runs what ships: dist/main.js, built from the current sources.
  execFileSync('npx', ['tsc', '-b', 'services/scheduler'], {
    cwd: `${__dirname}/../../..`,
    stdio: 'pipe',
  });
});

it('loses and duplicates no acknowledged submission when SIGKILLed mid-stream and restarted', async () => {
  await using nats = await startNatsServer();
  await using database = await createTestDatabase();
  const env = {
    NATS_URL: nats.url,
    DATABASE_URL: database.url,
    LOG_LEVEL: 'info',
    INGEST_BATCH_MAX: '100',
  };
  const startScheduler = async (): Promise<ServiceProcess> => {
    const proc = await startServiceProcess({ service: 'scheduler', env });
    await proc.waitForLine(/"msg":"scheduler started"/, 30_000);
    return proc;
  };
  const nc = await connect({ servers: nats.url });
  const db = createDb(database.url, { max: 2 });
  let proc = await startScheduler();
  try {
    const js = jetstream(nc);
    const acked: string[] = [];
    // Publishing goes on while the scheduler is killed and restarted: the broker holds the rest.
    const publishing = (async () => {
      for (let i = 0; i < TOTAL; i += CHUNK) {
        const items = Array.from({ length: CHUNK }, () => submission('sigkill'));
        await publishAll(
          js,
          items.map((s) => ({
            kind: 'submission' as const,
            subject: SUBJECTS.submit(DEFAULT_TENANT),
            message: s,
          })),
        );
        acked.push(...items.map((s) => s.id));
      }
    })();
    await waitFor(async () => (await countWorkloads(db)) >= TOTAL / 4, {
      timeoutMs: 30_000,
      message: 'a quarter ingested',
    });
    expect(await proc.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const atKill = await countWorkloads(db);
    proc = await startScheduler();
    await publishing;
    expect(acked).toHaveLength(TOTAL);
    expect(atKill).toBeLessThan(TOTAL);
    await waitFor(async () => (await countWorkloads(db)) === TOTAL, {
      timeoutMs: 60_000,
      message: `${TOTAL} workloads`,
    });
    const { rows } = await sql<{ id: string; events: number }>`
      select w.id, count(e.id)::int as events
      from workloads w left join workload_events e on e.workload_id = w.id
      group by w.id`.execute(db);
    expect(rows.map((r) => r.id).sort()).toEqual([...acked].sort());
    // Exactly once: one `submitted` event per workload, even for batches redelivered after the kill.
    expect(rows.filter((r) => r.events !== 1)).toEqual([]);
  } finally {
    await proc.stop();
    await nc.drain();
    await db.destroy();
  }
});

async function countWorkloads(db: ReturnType<typeof createDb>): Promise<number> {
  const r = await db
    .selectFrom('workloads')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
