import http from 'node:http';
import type { WorkerV1, WorkloadV1 } from '@niyanta/messages';
import { SUBJECTS, envelope, uuidv7 } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { E2E_AUTH } from '../support/system.js';
import { serviceConsumers, stalledConsumers } from './support/consumers.js';
import { waitForDeadLetter } from './support/dead-letters.js';
import { HEARTBEAT_INTERVAL_MS, startFuzzSystem } from './support/fuzz-system.js';
import type { FuzzSystem } from './support/fuzz-system.js';
import { expectLive, silentWorkerDeclaredDead } from './support/liveness.js';
import { forgetMessages, forgetMessagesMentioning } from './support/quarantine.js';

// The reproductions of issue 18 other than the poison messages (issue-18-poison.test.ts), each a
// test named after its symptom, on one system of two workers with four slots each. A test that
// leaves something behind that would break the next one (a stored worker row, pending
// workloads) removes it in `finally`, so each one fails for its own reason.
jest.setTimeout(120_000);

const WORKERS = ['fzr-a', 'fzr-b'];
const SLOTS = 4;
/** An ordinary workload starts this long after submission at the latest (loaded machine). */
const ORDINARY_MS = 15_000;
/** A worker that fits nothing: more cpu and gpu than any worker has. */
const UNPLACEABLE = { type: 'noop', input: 1, requirements: { cpu: 64, gpu: 34 } };

let f: FuzzSystem;

beforeAll(async () => {
  f = await startFuzzSystem({ workers: WORKERS.map((id) => ({ id, slots: SLOTS })) });
}, 120_000);

afterAll(async () => {
  await f?.[Symbol.asyncDispose]();
});

/** Submits the nine workloads no worker can take; waits until the placer has seen them all. */
async function submitUnplaceable(): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 9; i++) ids.push((await f.submit(UNPLACEABLE)).id);
  await waitFor(
    async () => {
      const rows = await f.sys.db
        .selectFrom('workloads')
        .select('pending_reason')
        .where('id', 'in', ids)
        .execute();
      return rows.length === ids.length && rows.every((r) => r.pending_reason !== null)
        ? true
        : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50, message: 'the nine to have a pending reason' },
  );
  return ids;
}

/** A POST with a JSON content type through node:http (headers fetch would not send). */
function rawPost(
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${f.sys.apiUrl}${path}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...E2E_AUTH, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (headers.expect !== undefined) req.on('continue', () => req.end(body));
    else req.end(body);
  });
}

/** Cancels workloads a test left waiting, so they hold nothing of the next test's. */
async function cancelAll(ids: readonly string[]): Promise<void> {
  for (const id of ids)
    await f.sys.api('POST', `/v1/workloads/${id}/cancel`).catch(() => undefined);
}

/** A valid heartbeat of a worker that runs nothing. */
function heartbeat(workerId: string, fields: Record<string, unknown> = {}) {
  const now = new Date().toISOString();
  return {
    ...envelope(),
    workerId,
    status: 'ACTIVE',
    capacity: { slots: 4, cpu: 4, memoryMb: 4096, gpu: 0 },
    labels: {},
    types: ['noop'],
    running: [],
    startedAt: now,
    intervalMs: HEARTBEAT_INTERVAL_MS,
    ...fields,
  };
}

/** Waits until the health monitor has taken every heartbeat published so far. */
async function heartbeatsTaken(): Promise<void> {
  const stalled = await stalledConsumers(
    f.jsm,
    serviceConsumers([]).filter((c) => c.durable === 'health-monitor-heartbeats'),
    10_000,
  );
  if (stalled.length > 0) throw new Error(`heartbeats are not taken: ${stalled.join('; ')}`);
}

describe('issue 18 reproductions', () => {
  it('runs an ordinary sleep submitted after nine workloads no worker can take', async () => {
    const blockers: string[] = [];
    try {
      blockers.push(...(await submitUnplaceable()));
      const sleep = await f.submit({ type: 'sleep', input: { durationMs: 300, steps: 1 } });
      await f.waitCompleted([sleep.id], ORDINARY_MS);
    } finally {
      await cancelAll(blockers);
    }
  });

  it('gives a waiting workload a pendingReason that is true while slots are free', async () => {
    const blockers: string[] = [];
    try {
      blockers.push(...(await submitUnplaceable()));
      const sleep = await f.submit({ type: 'sleep', input: { durationMs: 300, steps: 1 } });
      const untrue: string[] = [];
      await waitFor(
        async () => {
          const workers = (await f.sys.api<{ items: WorkerV1[] }>('GET', '/v1/workers')).body;
          const free = workers.items
            .filter((w) => WORKERS.includes(w.id) && w.status === 'ACTIVE')
            .reduce((n, w) => n + w.freeSlots, 0);
          const seen = await Promise.all(
            [...blockers, sleep.id].map(
              async (id) => (await f.sys.api<WorkloadV1>('GET', `/v1/workloads/${id}`)).body,
            ),
          );
          for (const w of seen) {
            if (w.status !== 'PENDING' || w.pendingReason === null) continue;
            if (free > 0 && /no free slot/i.test(w.pendingReason))
              untrue.push(`${w.id} (${w.type}) "${w.pendingReason}" with ${free} slots free`);
          }
          const blockersExplained = seen
            .filter((w) => w.id !== sleep.id)
            .every((w) => w.pendingReason !== null && w.pendingReason !== undefined);
          const sleepDone = seen.find((w) => w.id === sleep.id)?.status === 'COMPLETED';
          return untrue.length > 0 || (blockersExplained && sleepDone) ? true : undefined;
        },
        { timeoutMs: ORDINARY_MS, intervalMs: 200, message: 'pending reasons to settle' },
      );
      expect(untrue).toEqual([]);
      // The reason of one that no worker can take names what it lacks.
      const blocker = (await f.sys.api<WorkloadV1>('GET', `/v1/workloads/${blockers[0]}`)).body;
      expect(blocker.pendingReason).toMatch(/cpu|gpu/);
    } finally {
      await cancelAll(blockers);
    }
  });

  it('declares a silent worker DEAD after a heartbeat whose workerId is a subject (niyanta.assign.x)', async () => {
    const bad = 'niyanta.assign.x';
    let seq = 0;
    try {
      const ack = await f.publish(
        SUBJECTS.heartbeat('x'),
        JSON.stringify(heartbeat(bad, { types: ['fz-none'] })),
      );
      seq = ack.seq;
      await heartbeatsTaken();
      const late = await silentWorkerDeclaredDead(f);
      expect(late).toEqual([]);
      const row = await waitForDeadLetter(f.sys.db, f.jsm, 'NIYANTA_HEARTBEAT', ack.seq, 10_000);
      expect(row.error).not.toBe('');
    } finally {
      // Stored today, it would break every later sweep of this file.
      await f.sys.db.deleteFrom('workers').where('id', '=', bad).execute();
      await forgetMessages(f.jsm, 'NIYANTA_HEARTBEAT', [seq]);
    }
  });

  it('never runs a broker submission PostgreSQL refuses ("x\\ud800" on niyanta.submit.default)', async () => {
    const id = uuidv7();
    const assigned: string[] = [];
    const sub = f.nc.subscribe(SUBJECTS.assignAll, {
      callback: (_err, msg) => {
        const text = msg.string();
        if (text.includes(id)) assigned.push(msg.subject);
      },
    });
    try {
      await f.nc.flush();
      await f.publish(
        SUBJECTS.submit('default'),
        JSON.stringify({ schemaVersion: 1, id, type: 'noop', input: 'x\ud800' }),
        { msgId: `default:${id}` },
      );
      // Barrier: an ordinary workload submitted after it has run, so ingest is past it. Its
      // input must not hold the id, or its own assignment and run would match the checks below.
      const after = await f.submit({ type: 'noop', input: { barrier: true } });
      await f.waitCompleted([after.id], ORDINARY_MS);
      await f.nc.flush();
      expect(assigned).toEqual([]);
      const ran = [...f.sys.services.entries()]
        .filter(([name]) => WORKERS.includes(name))
        .filter(([, p]) => p.output().includes(id))
        .map(([name]) => name);
      expect(ran).toEqual([]);
      const rejected = await f.sys.db
        .selectFrom('rejected_submissions')
        .select(['reason'])
        .where('msg_id', '=', `default:${id}`)
        .execute();
      expect(rejected).toHaveLength(1);
      expect((await f.sys.api('GET', `/v1/workloads/${id}`)).status).toBe(404);
    } finally {
      sub.unsubscribe();
      // Today its run's completion (result "x\ud800") blocks the completion consumer.
      await forgetMessagesMentioning(f.jsm, 'NIYANTA_COMPLETE', id);
      await forgetMessagesMentioning(f.jsm, 'NIYANTA_ASSIGN', id);
    }
  });

  it('places ordinary workloads while a worker advertises a type containing U+0000', async () => {
    const fake = 'fzr-nul-types';
    const seqs: number[] = [];
    let beating = true;
    const beat = async () => {
      while (beating) {
        const ack = await f.publish(
          SUBJECTS.heartbeat(fake),
          JSON.stringify(heartbeat(fake, { types: ['fz\u0000bad'] })),
        );
        seqs.push(ack.seq);
        await new Promise((r) => setTimeout(r, HEARTBEAT_INTERVAL_MS));
      }
    };
    const beats = beat();
    try {
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push((await f.submit({ type: 'noop', input: { i } })).id);
      await f.waitCompleted(ids, ORDINARY_MS);
      const row = await waitForDeadLetter(f.sys.db, f.jsm, 'NIYANTA_HEARTBEAT', seqs[0]!, 10_000);
      expect(row.error).not.toBe('');
    } finally {
      beating = false;
      await beats;
      await f.sys.db.deleteFrom('workers').where('id', '=', fake).execute();
      await forgetMessages(f.jsm, 'NIYANTA_HEARTBEAT', seqs);
    }
  });

  it('answers 400 to POST /v1/workloads/{id}/cancel with the body "{\\n" and cancels nothing', async () => {
    const waiting = await f.submit({ type: 'fz-nobody-runs-this', input: {} });
    try {
      // As fetch sends it, as a chunked body, and with a 100-continue handshake.
      const answers = [
        await rawPost(`/v1/workloads/${waiting.id}/cancel`, '{\n', {}),
        await rawPost(`/v1/workloads/${waiting.id}/cancel`, '{\n', {
          'transfer-encoding': 'chunked',
        }),
        await rawPost(`/v1/workloads/${waiting.id}/cancel`, '{\n', { expect: '100-continue' }),
      ];
      for (const res of answers) {
        expect({ status: res.status, body: res.body }).toMatchObject({ status: 400 });
        expect(res.contentType).toMatch(/^application\/problem\+json/);
      }
      const now = (await f.sys.api<WorkloadV1>('GET', `/v1/workloads/${waiting.id}`)).body;
      expect(now.status).toBe('PENDING');
    } finally {
      await cancelAll([waiting.id]);
    }
  });

  it('answers 413 naming the broker limit, not 503, to a submission body just under 1 MiB', async () => {
    const limit = f.nc.info?.max_payload;
    expect(limit).toBeGreaterThan(0);
    const size = 1024 * 1024 - 16;
    const base = JSON.stringify({ type: 'noop', input: '' });
    const body = base.replace('""', `"${'x'.repeat(size - base.length)}"`);
    expect(Buffer.byteLength(body)).toBe(size);
    const res = await fetch(`${f.sys.apiUrl}/v1/workloads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...E2E_AUTH },
      body,
    });
    const text = await res.text();
    expect({ status: res.status, body: text.slice(0, 400) }).toMatchObject({ status: 413 });
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const limitText = [
      String(limit),
      Number(limit).toLocaleString('en-US'),
      `${limit! / 1024 / 1024} MiB`,
    ];
    expect(limitText.some((t) => text.includes(t))).toBe(true);
  });

  it('stays live after the reproductions', async () => {
    await expectLive(f);
  });
});
