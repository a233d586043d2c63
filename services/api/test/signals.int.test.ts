import { STREAMS, SUBJECTS, decode } from '@niyanta/messages';
import { sql } from 'kysely';
import {
  commandLastSeq,
  createKey,
  insertWorkload,
  request,
  startTwoTenants,
} from './identity-support.js';
import type { IdentityEnv } from './identity-support.js';

jest.setTimeout(60_000);

interface Problem {
  status: number;
  detail: string;
  errors?: { path: string; in?: string; message: string }[];
}

let env: IdentityEnv;
let base: string;
let submitter: string;
let viewer: string;
let admin: string;
let other: string;
const T = 'sig-a';

beforeAll(async () => {
  ({ env, base } = await startTwoTenants(T, 'sig-b'));
  submitter = (await createKey(base, T, 'submitter')).key;
  viewer = (await createKey(base, T, 'viewer')).key;
  admin = (await createKey(base, T, 'admin')).key;
  other = (await createKey(base, 'sig-b', 'admin')).key;
});

afterAll(async () => {
  await env?.close();
});

/** The last command on the tenant's command subject. */
async function lastCommand() {
  const m = await env.nats.jsm.streams.getMessage(STREAMS.command.name, {
    last_by_subj: SUBJECTS.command(T),
  });
  const d = decode('command', m!.data);
  if (!d.ok) throw new Error('the command does not decode');
  return d.value;
}

describe('POST /v1/workloads/{id}/signals/{name}', () => {
  it('sends a signal command with its payload, answers 202 with the workload, and is audited', async () => {
    const id = await insertWorkload(env.db, T, 'WAITING');
    const res = await request(base, 'POST', `/v1/workloads/${id}/signals/approve`, {
      key: submitter,
      body: { payload: { by: 'ann', ok: true } },
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id, status: 'WAITING' });
    expect(await lastCommand()).toMatchObject({
      workloadId: id,
      command: 'signal',
      signal: { name: 'approve', payload: { by: 'ann', ok: true } },
    });
    // An empty body sends the payload null.
    expect(
      (await request(base, 'POST', `/v1/workloads/${id}/signals/go.on:1`, { key: submitter }))
        .status,
    ).toBe(202);
    expect((await lastCommand()).signal).toEqual({ name: 'go.on:1', payload: null });
    const audit = await request(base, 'GET', '/v1/audit?limit=10', { key: admin });
    const targets = (audit.body as { items: { target: string }[] }).items.map((e) => e.target);
    expect(targets).toContain(`/v1/workloads/${id}/signals/approve`);
  });

  it('needs the submitter role; another tenant gets 404 and sends nothing', async () => {
    const id = await insertWorkload(env.db, T);
    const before = await commandLastSeq(env.nats);
    const asViewer = await request(base, 'POST', `/v1/workloads/${id}/signals/approve`, {
      key: viewer,
      body: { payload: 1 },
    });
    expect(asViewer.status).toBe(403);
    const asOther = await request(base, 'POST', `/v1/workloads/${id}/signals/approve`, {
      key: other,
      body: { payload: 1 },
    });
    expect(asOther.status).toBe(404);
    expect(await commandLastSeq(env.nats)).toBe(before);
  });

  it('refuses a bad name (400 naming it), an oversized payload (413), an unknown field and an ended workload (409)', async () => {
    const id = await insertWorkload(env.db, T);
    const before = await commandLastSeq(env.nats);
    const badName = await request(base, 'POST', `/v1/workloads/${id}/signals/-no`, {
      key: submitter,
    });
    expect(badName.status).toBe(400);
    expect((badName.body as Problem).errors).toEqual([
      expect.objectContaining({ path: 'name', in: 'path' }),
    ]);
    const big = await request(base, 'POST', `/v1/workloads/${id}/signals/approve`, {
      key: submitter,
      body: { payload: 'x'.repeat(70 * 1024) },
    });
    expect(big.status).toBe(413);
    const unknown = await request(base, 'POST', `/v1/workloads/${id}/signals/approve`, {
      key: submitter,
      body: { payload: 1, extra: true },
    });
    expect(unknown.status).toBe(400);
    expect((unknown.body as Problem).errors?.map((e) => e.path)).toContain('/extra');
    const ended = await insertWorkload(env.db, T, 'COMPLETED');
    const late = await request(base, 'POST', `/v1/workloads/${ended}/signals/approve`, {
      key: submitter,
    });
    expect(late.status).toBe(409);
    expect(await commandLastSeq(env.nats)).toBe(before);
  });
});

describe('GET /v1/workloads/{id} of a WAITING workload', () => {
  it('shows waitingFor from its current wait', async () => {
    const id = await insertWorkload(env.db, T, 'WAITING');
    await sql`update workloads set attempt = 2 where id = ${id}`.execute(env.db);
    await sql`insert into workload_waits (workload_id, seq, kind, attempt, signal, wake_at)
      values (${id}, 0, 'sleep', 1, null, null),
             (${id}, 1, 'signal', 2, 'approve', '2030-01-02T03:04:05Z')`.execute(env.db);
    const res = await request(base, 'GET', `/v1/workloads/${id}`, { key: viewer });
    expect(res.body).toMatchObject({
      status: 'WAITING',
      waitingFor: { kind: 'signal', signal: 'approve', until: '2030-01-02T03:04:05.000Z' },
    });
    const list = await request(base, 'GET', '/v1/workloads?status=WAITING', { key: viewer });
    expect((list.body as { items: { id: string }[] }).items.map((w) => w.id)).toContain(id);
  });
});
