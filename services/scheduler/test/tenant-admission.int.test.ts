import { waitFor } from '@niyanta/testing';
import {
  startFakeWorker,
  startHarness,
  submission,
  submit,
  waitForWorkload,
  workload,
} from './harness.js';
import type { Harness } from './harness.js';

jest.setTimeout(60_000);

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await h.db
    .insertInto('tenants')
    .values([
      { id: 'adm-quota', name: 'quota', quotas: JSON.stringify({ maxPending: 2 }) },
      { id: 'adm-off', name: 'off', status: 'disabled' },
      { id: 'adm-run', name: 'run', quotas: JSON.stringify({ maxRunning: 1 }) },
    ])
    .execute();
});

afterAll(async () => {
  await h?.close();
});

const rejection = (seq: number) =>
  waitFor(
    () =>
      h.db
        .selectFrom('rejected_submissions')
        .selectAll()
        .where('stream_seq', '=', seq)
        .executeTakeFirst(),
    { message: `the rejection of stream seq ${seq}` },
  );

describe('tenant admission at ingest', () => {
  it('stores the submitting key of a submission', async () => {
    const s = submission('adm-by', { submittedBy: '0190a1b2c3d47e5f8a9b0c1d2e3f4a5b' });
    await submit(h, s);
    const row = await waitForWorkload(h, s.id, () => true, 'the workload');
    expect(row.submitted_by).toBe('0190a1b2c3d47e5f8a9b0c1d2e3f4a5b');
  });

  it('rejects the broker submissions of a disabled tenant, with the reason', async () => {
    const s = submission('adm-off');
    const ack = await submit(h, s, 'adm-off');
    expect(await rejection(ack.seq)).toMatchObject({
      tenant: 'adm-off',
      reason: expect.stringMatching(/tenant adm-off is disabled/),
    });
    expect(await workload(h, s.id)).toBeUndefined();
  });

  it('rejects broker submissions over maxPending with QUOTA_EXCEEDED, keeping those under it', async () => {
    // No worker runs: every accepted one stays PENDING.
    const subs = Array.from({ length: 4 }, () => submission('adm-quota'));
    const acks = [];
    for (const s of subs) acks.push(await submit(h, s, 'adm-quota'));
    for (const ack of acks.slice(2)) {
      expect(await rejection(ack.seq)).toMatchObject({
        tenant: 'adm-quota',
        reason: 'QUOTA_EXCEEDED: tenant adm-quota is at its maxPending 2 (currently 2)',
      });
    }
    for (const s of subs.slice(0, 2)) await waitForWorkload(h, s.id, () => true, 'an admitted one');
    for (const s of subs.slice(2)) expect(await workload(h, s.id)).toBeUndefined();
  });
});

describe('run quotas at placement', () => {
  it('keeps a tenant at its maxRunning PENDING, saying why, and starts the next as one ends', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'fw-run-quota',
      types: ['adm-run'],
      capacity: { slots: 4 },
    });
    const first = submission('adm-run');
    await submit(h, first, 'adm-run');
    const running = await worker.waitForAssignment(first.id, 1);
    const second = submission('adm-run');
    await submit(h, second, 'adm-run');
    // Ingest may first store a generic reason (it leaves a limited tenant's work to the placer);
    // the placer's next cycle names the quota.
    const waiting = await waitForWorkload(
      h,
      second.id,
      (r) => r.pending_reason === 'tenant adm-run is at its maxRunning 1',
      'the maxRunning reason of the second',
    );
    expect(waiting).toMatchObject({
      status: 'PENDING',
      pending_reason: 'tenant adm-run is at its maxRunning 1',
    });
    // Another tenant's work of the same type still goes to the free slots.
    const other = submission('adm-run');
    await submit(h, other);
    await worker.waitForAssignment(other.id, 1);
    expect((await workload(h, second.id))?.status).toBe('PENDING');

    await worker.complete(running, 'succeeded');
    await worker.waitForAssignment(second.id, 1);
  });
});
