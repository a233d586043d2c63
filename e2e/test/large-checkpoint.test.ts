import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createS3BlobStore } from '@niyanta/blob-store';
import type { BlobStore } from '@niyanta/blob-store';
import type { WorkloadV1 } from '@niyanta/messages';
import { startS3Server, waitFor } from '@niyanta/testing';
import type { S3Handle } from '@niyanta/testing';
import { eventsOf, startSystem } from './support/system.js';
import type { System } from './support/system.js';

// A 5 MiB checkpoint state goes to a real S3 server (s3rver in this process, or MinIO where a
// container runtime exists), the run resumes from it on another worker after a SIGKILL, and
// retention deletes the old objects. FAST settings of system.ts: a worker silent for 1500 ms is dead.
jest.setTimeout(120_000);

const STATE_BYTES = 5 * 1024 * 1024;
const STEPS = 6;
const HOLD_AT = 4;
const KEEP = 3;
const WORKERS = [{ id: 'lc-a' }, { id: 'lc-b' }];
const MODULES = join(__dirname, 'fixtures', 'workloads', 'bigstate');

interface BigstateResult {
  steps: number;
  resumedFrom: { step: number; bytes: number; intact: boolean } | null;
  attempt: number;
}

interface CheckpointItem {
  seq: number;
  attempt: number;
  size: number;
  sha256: string;
  storage: 'inline' | 'blob';
  createdAt: string;
}

let s3: S3Handle;
let sys: System;
let bucket: BlobStore;
let releaseDir: string;

beforeAll(async () => {
  releaseDir = await mkdtemp(join(tmpdir(), 'large-checkpoint-'));
  s3 = await startS3Server();
  bucket = createS3BlobStore({
    bucket: s3.bucket,
    region: s3.region,
    endpoint: s3.endpoint,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  sys = await startSystem({
    workers: WORKERS,
    env: {
      BLOB_STORE: 's3',
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: s3.bucket,
      S3_REGION: s3.region,
      AWS_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      WORKLOAD_MODULES: MODULES,
      CHECKPOINT_KEEP: String(KEEP),
    },
  });
}, 120_000);

afterAll(async () => {
  await sys?.[Symbol.asyncDispose]();
  await bucket?.close();
  await s3?.stop();
  if (releaseDir !== undefined) await rm(releaseDir, { recursive: true, force: true });
});

/** Committed checkpoint rows of a workload, oldest first. */
const rowsOf = (workloadId: string) =>
  sys.db
    .selectFrom('checkpoints')
    .select(['attempt', 'seq', 'storage', 'size', 'sha256', 'blob_key', 'data'])
    .where('workload_id', '=', workloadId)
    .orderBy('attempt')
    .orderBy('seq')
    .execute();

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Waits until the rows are exactly `seqs` and the bucket holds exactly their objects. */
async function waitForCheckpoints(workloadId: string, seqs: number[]) {
  const prefix = `checkpoints/${workloadId}/`;
  let seen = '';
  try {
    return await waitFor(
      async () => {
        const rows = await rowsOf(workloadId);
        const keys = await bucket.list(prefix);
        seen = JSON.stringify({ rows: rows.map((r) => [r.attempt, r.seq, r.blob_key]), keys });
        const rowKeys = rows.map((r) => r.blob_key ?? '').sort();
        const match =
          JSON.stringify(rows.map((r) => r.seq)) === JSON.stringify(seqs) &&
          JSON.stringify(keys) === JSON.stringify(rowKeys);
        return match ? { rows, keys } : undefined;
      },
      {
        timeoutMs: 45_000,
        intervalMs: 100,
        message: `checkpoints ${seqs.join(',')} of ${workloadId}`,
      },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen ${seen}\n${sys.output()}`, {
      cause: err,
    });
  }
}

describe('checkpoints too large for a broker message', () => {
  it('go to S3, resume on another worker after SIGKILL, and retention deletes the old objects', async () => {
    const releaseFile = join(releaseDir, 'release');
    const w = await sys.submit({
      type: 'bigstate',
      input: { bytes: STATE_BYTES, steps: STEPS, holdAt: HOLD_AT, releaseFile },
    });

    // Attempt 1 checkpoints steps 1..4: only the newest KEEP rows remain, each a blob in the
    // bucket; the object of step 1 is gone with its row.
    const first = await waitForCheckpoints(w.id, [2, 3, 4]);
    // Keys are `<attempt>-<seq>-<random 8 hex>.json`: no upload overwrites another's object.
    const keyOf = (attempt: number, seq: number) =>
      expect.stringMatching(
        new RegExp(`^checkpoints/${w.id}/${attempt}-${seq}-[0-9a-f]{8}\\.json$`),
      );
    expect(first.keys).toEqual([2, 3, 4].map((seq) => keyOf(1, seq)));
    for (const row of first.rows) {
      expect(row).toMatchObject({ attempt: 1, storage: 'blob', data: null });
      expect(row.size).toBeGreaterThan(STATE_BYTES);
      const object = await bucket.get(row.blob_key!);
      expect(object.length).toBe(row.size);
      expect(sha256(object)).toBe(row.sha256);
      expect(JSON.parse(object.toString('utf8'))).toMatchObject({ step: row.seq });
    }
    const listed = await sys.api<{ items: CheckpointItem[] }>(
      'GET',
      `/v1/workloads/${w.id}/checkpoints`,
    );
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((i) => [i.seq, i.storage])).toEqual([
      [4, 'blob'],
      [3, 'blob'],
      [2, 'blob'],
    ]);

    const running = (await sys.api<WorkloadV1>('GET', `/v1/workloads/${w.id}`)).body;
    expect(running).toMatchObject({ status: 'RUNNING', attempt: 1 });
    const victim = running.workerId!;
    const heir = WORKERS.map((x) => x.id).find((id) => id !== victim)!;
    await sys.services.get(victim)!.kill('SIGKILL');

    // Declared dead, back to PENDING, placed on the other worker with the blob checkpoint of
    // step 4, which it downloads, verifies and continues from. Attempt 2's steps 5 and 6 push
    // steps 2 and 3 out: rows and objects alike. The run holds after its last checkpoint until
    // released: a checkpoint that reaches the checkpoint service after the workload ended is
    // discarded, so the run must not end before step 6 is committed.
    const last = await waitForCheckpoints(w.id, [4, 5, 6]);
    expect(last.rows.map((r) => [r.attempt, r.seq, r.storage])).toEqual([
      [1, 4, 'blob'],
      [2, 5, 'blob'],
      [2, 6, 'blob'],
    ]);
    expect(last.keys).toEqual([keyOf(1, 4), keyOf(2, 5), keyOf(2, 6)]);
    await writeFile(releaseFile, '');

    const done = await sys.waitForStatus(w.id, 'COMPLETED', 60_000);
    expect(done).toMatchObject({ attempt: 2, workerId: heir });
    expect(done.result as BigstateResult).toEqual({
      steps: STEPS,
      resumedFrom: { step: HOLD_AT, bytes: STATE_BYTES, intact: true },
      attempt: 2,
    });
    const events = await eventsOf(sys.db, w.id);
    expect(events.filter((e) => e.to_status === 'COMPLETED')).toHaveLength(1);
    expect(events.map((e) => [e.to_status, e.attempt])).toEqual([
      ['PENDING', 0],
      ['SCHEDULED', 1],
      ['RUNNING', 1],
      ['PENDING', 1],
      ['SCHEDULED', 2],
      ['RUNNING', 2],
      ['COMPLETED', 2],
    ]);
    expect((await rowsOf(w.id)).map((r) => [r.attempt, r.seq])).toEqual([
      [1, 4],
      [2, 5],
      [2, 6],
    ]);
    const newest = await bucket.get(last.rows[2]!.blob_key!);
    expect(sha256(newest)).toBe(last.rows[2]!.sha256);
  });
});
