// The restore drill of docs/operations.md on real servers: a PostgreSQL with the Niyanta schema and
// workloads in every state, a JetStream server holding submissions not yet ingested, events and a
// durable consumer. scripts/restore-drill.mjs backs both up, wipes them, restores them, and the
// workloads, the rows of every table and the messages are all there again.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import pg from 'pg';
import { migrateToLatest } from '@niyanta/db';
import { CONSUMERS, SUBJECTS, ensureConsumer, ensureStreams } from '@niyanta/messages';
import { POSTGRES_BIN_ENV, startNatsServer, startPostgresServer } from '@niyanta/testing';
import type { NatsServerHandle, PostgresHandle } from '@niyanta/testing';

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'restore-drill.mjs');
const STATUSES = ['PENDING', 'SCHEDULED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'PAUSED'];
const WORKLOADS = 70;
const SUBMISSIONS = 25;

/**
 * A directory with pg_dump, pg_restore, initdb and postgres of one version: the one
 * NIYANTA_POSTGRES_BIN names, else the newest Debian install. The embedded PostgreSQL of
 * libs/testing ships no pg_dump, so the drill runs its own server from these binaries.
 */
function postgresClientBin(): string {
  const wanted = ['pg_dump', 'pg_restore', 'initdb', 'postgres'];
  const candidates = [
    process.env[POSTGRES_BIN_ENV],
    ...(fs.existsSync('/usr/lib/postgresql')
      ? fs
          .readdirSync('/usr/lib/postgresql')
          .sort((a, b) => Number(b) - Number(a))
          .map((v) => `/usr/lib/postgresql/${v}/bin`)
      : []),
  ].filter((d): d is string => d !== undefined);
  const found = candidates.find((d) => wanted.every((b) => fs.existsSync(path.join(d, b))));
  if (found === undefined)
    throw new Error(
      `No PostgreSQL binaries with ${wanted.join(', ')} in ${candidates.join(', ') || '/usr/lib/postgresql/*/bin'}: install them (apt-get install -y postgresql-15) or set ${POSTGRES_BIN_ENV} to such a directory.`,
    );
  return found;
}

function runScript(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('scripts/restore-drill.mjs', () => {
  let postgres: PostgresHandle;
  let nats: NatsServerHandle;
  let pgBin: string;
  let databaseUrl: string;
  let backupDir: string;

  beforeAll(async () => {
    pgBin = postgresClientBin();
    const saved = process.env[POSTGRES_BIN_ENV];
    process.env[POSTGRES_BIN_ENV] = pgBin;
    try {
      postgres = await startPostgresServer();
    } finally {
      if (saved === undefined) delete process.env[POSTGRES_BIN_ENV];
      else process.env[POSTGRES_BIN_ENV] = saved;
    }
    nats = await startNatsServer();
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query('create database niyanta');
    await admin.end();
    databaseUrl = postgres.urlFor('niyanta');
    await migrateToLatest(databaseUrl);
    backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'niyanta-backup-'));
  });

  afterAll(async () => {
    await nats?.[Symbol.asyncDispose]();
    await postgres?.[Symbol.asyncDispose]();
    if (backupDir) fs.rmSync(backupDir, { recursive: true, force: true });
  });

  async function seed(): Promise<void> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      for (let i = 0; i < WORKLOADS; i++) {
        await client.query(
          `insert into workloads (id, tenant, type, status, priority, max_attempts, input, labels, requirements)
           values ($1, 'default', 'sleep', $2, 500, 3, $3, '{}', '{}')`,
          [randomUUID(), STATUSES[i % STATUSES.length], JSON.stringify({ ms: i, note: `n${i}` })],
        );
      }
    } finally {
      await client.end();
    }
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      await ensureStreams(jsm);
      await ensureConsumer(jsm, CONSUMERS.schedulerIngest);
      const js = jetstream(nc);
      for (let i = 0; i < SUBMISSIONS; i++) {
        const h = headers();
        h.set('Nats-Msg-Id', `default:key-${i}`);
        h.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
        await js.publish(
          SUBJECTS.submit('default'),
          JSON.stringify({ type: 'sleep', input: { ms: i } }),
          { headers: h },
        );
      }
      await js.publish(SUBJECTS.events('wl-1'), JSON.stringify({ changes: [1, 2, 3] }));
    } finally {
      await nc.drain();
    }
  }

  it('backs up, wipes and restores: every workload, row and message is there again', async () => {
    await seed();
    const env = {
      DATABASE_URL: databaseUrl,
      NATS_URL: nats.url,
      PG_BIN: pgBin,
    };
    const run = await runScript(['drill', '--out', backupDir, '--yes-wipe'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as {
      differences: string[];
      workloads: number;
      streams: Record<string, number>;
      duplicates: Record<string, number>;
    };
    expect(result.differences).toEqual([]);
    expect(result.workloads).toBe(WORKLOADS);
    expect(result.streams['NIYANTA_SUBMIT']).toBe(SUBMISSIONS);
    expect(Object.values(result.duplicates).every((n) => n === 0)).toBe(true);

    // Independently of the script: the workloads by status, and the ingest consumer with every
    // submission waiting for it.
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const rows = await client.query<{ status: string; n: number }>(
      'select status, count(*)::int as n from workloads group by status order by status',
    );
    await client.end();
    const expected = STATUSES.map((status) => ({
      status,
      n: Array.from({ length: WORKLOADS }, (_, i) => STATUSES[i % STATUSES.length]).filter(
        (s) => s === status,
      ).length,
    })).sort((a, b) => a.status.localeCompare(b.status));
    expect(rows.rows).toEqual(expected);

    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.consumers.info('NIYANTA_SUBMIT', 'scheduler-ingest');
      expect(info.num_pending).toBe(SUBMISSIONS);
      const first = await jsm.streams.getMessage('NIYANTA_SUBMIT', { seq: 1 });
      expect(first?.header.get('Nats-Msg-Id')).toBe('default:key-0');
    } finally {
      await nc.drain();
    }
  });

  it('refuses a drill without --yes-wipe, naming what it would delete', async () => {
    const run = await runScript(['drill', '--out', backupDir], {
      DATABASE_URL: databaseUrl,
      NATS_URL: nats.url,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('pass --yes-wipe');
  });
});
