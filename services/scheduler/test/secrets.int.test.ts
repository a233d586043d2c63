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
// A sealed value as the API stores it; the scheduler holds no key and never opens it.
const SEALED = Buffer.from('nonce-ciphertext-and-tag-of-the-value').toString('base64');

beforeAll(async () => {
  h = await startHarness();
  await h.db
    .insertInto('tenants')
    .values([
      { id: 'sec-t', name: 'secrets' },
      { id: 'sec-u', name: 'other' },
    ])
    .execute();
  await h.db
    .insertInto('secrets')
    .values([
      { tenant: 'sec-t', name: 'token', key_id: 'k1', sealed: SEALED },
      { tenant: 'sec-u', name: 'only-u', key_id: 'k1', sealed: SEALED },
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

describe('secrets at ingest and placement', () => {
  it('rejects a broker submission naming a secret its tenant does not have, with the reason', async () => {
    // only-u is another tenant's: not this one's.
    const s = submission('sec-type', { secrets: ['token', 'only-u'] });
    const ack = await submit(h, s, 'sec-t');
    expect(await rejection(ack.seq)).toMatchObject({
      tenant: 'sec-t',
      reason: expect.stringMatching(/^UNKNOWN_SECRET: tenant sec-t has no secret "only-u"/),
    });
    expect(await workload(h, s.id)).toBeUndefined();
  });

  it('records the names on the row and copies the sealed value into the assignment as stored', async () => {
    await using worker = await startFakeWorker(h, {
      id: 'fw-secrets',
      types: ['sec-type'],
      capacity: { slots: 2 },
    });
    const s = submission('sec-type', { secrets: ['token'] });
    await submit(h, s, 'sec-t');
    const assignment = await worker.waitForAssignment(s.id, 1);
    expect(assignment.secrets).toEqual([{ name: 'token', keyId: 'k1', sealed: SEALED }]);
    const row = await waitForWorkload(h, s.id, () => true, 'the workload');
    expect(row.secrets).toEqual(['token']);
    // Without secrets the assignment carries none.
    const plain = submission('sec-type');
    await submit(h, plain, 'sec-t');
    expect((await worker.waitForAssignment(plain.id, 1)).secrets).toBeUndefined();
  });
});
