import { headers as natsHeaders } from '@nats-io/transport-node';
import { STREAMS, SUBJECTS, uuidv7 } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { sql } from 'kysely';
import {
  ROOT_KEY,
  createKey,
  createTenant,
  request,
  startIdentityEnv,
} from './identity-support.js';
import type { IdentityEnv } from './identity-support.js';

let env: IdentityEnv;
let base: string;

beforeAll(async () => {
  env = await startIdentityEnv();
  [base] = env.bases;
});

afterAll(async () => {
  await env?.close();
});

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
interface DeadLetter {
  id: string;
  tenant: string | null;
  subject: string;
  data: string;
  size: number;
  headers: Record<string, string[]> | null;
}
interface Replay {
  subject: string;
  stream: string;
  streamSeq: number;
  msgId: string;
  duplicate: boolean;
}

/** Inserts a dead_letters row as a consuming service would; returns its id. */
async function insertDeadLetter(values: {
  subject: string;
  tenant: string | null;
  data: Buffer;
  headers?: Record<string, string[]> | null;
  streamSeq?: number;
  firstSeenAt?: string;
}): Promise<string> {
  const row = await env.db
    .insertInto('dead_letters')
    .values({
      stream: STREAMS.command.name,
      consumer: 'scheduler-commands',
      subject: values.subject,
      stream_seq: values.streamSeq ?? Math.floor(Math.random() * 1e12),
      msg_id: values.headers?.['Nats-Msg-Id']?.[0] ?? null,
      tenant: values.tenant,
      headers: values.headers == null ? null : JSON.stringify(values.headers),
      data: values.data,
      error: 'kept failing',
      deliveries: 5,
      ...(values.firstSeenAt === undefined
        ? {}
        : { first_seen_at: values.firstSeenAt, last_seen_at: values.firstSeenAt }),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function listAll<T>(path: string, key: string, limit: number): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const sep = path.includes('?') ? '&' : '?';
    const res = await request(
      base,
      'GET',
      `${path}${sep}limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`,
      { key },
    );
    expect(res.status).toBe(200);
    const page = res.body as Page<T>;
    expect(page.items.length).toBeLessThanOrEqual(limit);
    out.push(...page.items);
    cursor = page.nextCursor;
    if (cursor === null) return out;
  }
  throw new Error('more than 100 pages');
}

describe('dead letters', () => {
  const A = 'dl-a';
  const B = 'dl-b';
  let adminA: string;
  let adminB: string;
  let operatorA: string;

  beforeAll(async () => {
    await createTenant(base, A);
    await createTenant(base, B);
    adminA = (await createKey(base, A, 'admin')).key;
    adminB = (await createKey(base, B, 'admin')).key;
    operatorA = (await createKey(base, A, 'operator')).key;
  });

  it("lists a tenant's own to its admin, every one to root, page by page with rows of one timestamp", async () => {
    const same = '2026-01-02T03:04:05.123456Z';
    const own: string[] = [];
    for (let i = 0; i < 5; i++)
      own.push(
        await insertDeadLetter({
          subject: SUBJECTS.command(A),
          tenant: A,
          data: Buffer.from(`a${i}`),
          firstSeenAt: i < 3 ? same : undefined,
        }),
      );
    const other = await insertDeadLetter({
      subject: SUBJECTS.command(B),
      tenant: B,
      data: Buffer.from('b'),
    });
    const noTenant = await insertDeadLetter({
      subject: SUBJECTS.complete(uuidv7()),
      tenant: null,
      data: Buffer.from('c'),
    });

    const seenByA = await listAll<DeadLetter>('/v1/dead-letters', adminA, 2);
    expect(seenByA.map((d) => d.id).sort()).toEqual([...own].sort());
    expect(seenByA.every((d) => d.tenant === A)).toBe(true);

    const seenByRoot = (await listAll<DeadLetter>('/v1/dead-letters', ROOT_KEY, 1)).map(
      (d) => d.id,
    );
    expect(new Set(seenByRoot).size).toBe(seenByRoot.length);
    expect(seenByRoot).toEqual(expect.arrayContaining([...own, other, noTenant]));
    const scoped = await listAll<DeadLetter>('/v1/dead-letters', ROOT_KEY, 500);
    expect(scoped.length).toBe(seenByRoot.length);
    const rootOnB = await request(base, 'GET', '/v1/dead-letters', {
      key: ROOT_KEY,
      headers: { 'Niyanta-Tenant': B },
    });
    expect((rootOnB.body as Page<DeadLetter>).items.map((d) => d.id)).toEqual([other]);

    expect((await request(base, 'GET', '/v1/dead-letters', { key: operatorA })).status).toBe(403);
    expect(
      (await request(base, 'GET', '/v1/dead-letters?cursor=bogus', { key: adminA })).status,
    ).toBe(400);
  });

  it('stops a page early once its bodies pass 4 MiB, with a cursor to the rest', async () => {
    const T = 'dl-big';
    await createTenant(base, T);
    const admin = (await createKey(base, T, 'admin')).key;
    const big = Buffer.alloc(3 * 1024 * 1024, 0x61);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(await insertDeadLetter({ subject: SUBJECTS.command(T), tenant: T, data: big }));
    const first = await request(base, 'GET', '/v1/dead-letters?limit=10', { key: admin });
    const page = first.body as Page<DeadLetter>;
    expect(page.items).toHaveLength(2);
    expect(page.items.every((d) => d.size === big.length)).toBe(true);
    expect(Buffer.from(page.items[0]!.data, 'base64').equals(big)).toBe(true);
    expect(page.nextCursor).not.toBeNull();
    const all = await listAll<DeadLetter>('/v1/dead-letters', admin, 10);
    expect(all.map((d) => d.id).sort()).toEqual([...ids].sort());
  });

  it('replays the original byte-exact with its headers but a replay Nats-Msg-Id, once per duplicate window, audited', async () => {
    const subject = SUBJECTS.command(A);
    const data = Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x22, 0x0a, 0x7d]);
    const originalId = `orig-${uuidv7()}`;
    // The original is in the stream with its Nats-Msg-Id: republished with it, the broker would
    // drop the replay as a duplicate.
    const h = natsHeaders();
    h.set('Nats-Msg-Id', originalId);
    const original = await env.nats.js.publish(subject, data, { headers: h });
    const recorded = {
      'Nats-Msg-Id': [originalId],
      'Nats-Expected-Last-Sequence': ['1'],
      traceparent: ['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
      'X-Two': ['one', 'two'],
    };
    const id = await insertDeadLetter({
      subject,
      tenant: A,
      data,
      headers: recorded,
      streamSeq: original.seq,
    });

    expect(
      (await request(base, 'POST', `/v1/dead-letters/${id}/replay`, { key: operatorA })).status,
    ).toBe(403);
    const foreign = await request(base, 'POST', `/v1/dead-letters/${id}/replay`, { key: adminB });
    expect(foreign.status).toBe(404);
    const before = (await env.nats.jsm.streams.info(STREAMS.command.name)).state.last_seq;
    expect(before).toBe(original.seq);

    const res = await request(base, 'POST', `/v1/dead-letters/${id}/replay`, { key: adminA });
    expect(res.status).toBe(202);
    const replay = res.body as Replay;
    expect(replay).toEqual({
      subject,
      stream: STREAMS.command.name,
      streamSeq: original.seq + 1,
      msgId: `replay:dead:${id}`,
      duplicate: false,
    });
    const stored = await env.nats.jsm.streams.getMessage(STREAMS.command.name, {
      seq: replay.streamSeq,
    });
    expect(Buffer.from(stored!.data).equals(data)).toBe(true);
    expect(stored!.subject).toBe(subject);
    expect(stored!.header.get('Nats-Msg-Id')).toBe(`replay:dead:${id}`);
    expect(stored!.header.has('Nats-Expected-Last-Sequence')).toBe(false);
    expect(stored!.header.get('traceparent')).toBe(recorded.traceparent[0]);
    expect(stored!.header.values('X-Two')).toEqual(['one', 'two']);

    const again = await request(base, 'POST', `/v1/dead-letters/${id}/replay`, { key: adminA });
    expect(again.status).toBe(202);
    expect((again.body as Replay).duplicate).toBe(true);
    expect((await env.nats.jsm.streams.info(STREAMS.command.name)).state.last_seq).toBe(
      replay.streamSeq,
    );

    const audit = await env.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'POST /v1/dead-letters/:id/replay')
      .where('target', 'like', `/v1/dead-letters/${id}%`)
      .where('outcome', '=', 202)
      .orderBy('seq')
      .execute();
    expect(audit.map((e) => [e.tenant, e.outcome, e.target])).toEqual([
      [A, 202, `/v1/dead-letters/${id} -> ${STREAMS.command.name} seq ${replay.streamSeq}`],
      [
        A,
        202,
        `/v1/dead-letters/${id} -> ${STREAMS.command.name} seq ${replay.streamSeq} (duplicate)`,
      ],
    ]);
    // The api records the replay in the audit log only: the dead letter stays as it was.
    const row = await env.db
      .selectFrom('dead_letters')
      .select(['deliveries', 'last_seen_at'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.deliveries).toBe(5);
  });

  it('lets only the root key replay a message of no tenant', async () => {
    const id = await insertDeadLetter({
      subject: SUBJECTS.command('dl-none'),
      tenant: null,
      data: Buffer.from('{}'),
    });
    expect(
      (await request(base, 'POST', `/v1/dead-letters/${id}/replay`, { key: adminA })).status,
    ).toBe(404);
    expect(
      (await request(base, 'POST', `/v1/dead-letters/${uuidv7()}/replay`, { key: ROOT_KEY }))
        .status,
    ).toBe(404);
    expect(
      (await request(base, 'POST', '/v1/dead-letters/not-a-uuid/replay', { key: ROOT_KEY })).status,
    ).toBe(400);
    const res = await request(base, 'POST', `/v1/dead-letters/${id}/replay`, { key: ROOT_KEY });
    expect(res.status).toBe(202);
  });
});

describe('rejected submissions', () => {
  const T = 'rj-late';

  it('replays a submission refused for its unknown tenant once the tenant exists, and the workload is ingested', async () => {
    const submission = { schemaVersion: 1, id: uuidv7(), type: 'noop', input: { n: 7 } };
    const raw = JSON.stringify(submission);
    const { id } = await env.db
      .insertInto('rejected_submissions')
      .values({
        subject: SUBJECTS.submit(T),
        tenant: T,
        stream_seq: 1_000_000,
        msg_id: submission.id,
        reason: `unknown tenant "${T}"`,
        errors: '[]',
        raw,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const other = await env.db
      .insertInto('rejected_submissions')
      .values({
        subject: SUBJECTS.submit('rj-other'),
        tenant: 'rj-other',
        stream_seq: 1_000_001,
        msg_id: null,
        reason: 'unknown tenant',
        errors: '[]',
        raw: '{}',
      })
      .returning('id')
      .executeTakeFirstOrThrow();

    await createTenant(base, T);
    const admin = (await createKey(base, T, 'admin')).key;
    const list = await request(base, 'GET', '/v1/rejected', { key: admin });
    expect(list.status).toBe(200);
    expect((list.body as Page<{ id: string; raw: string }>).items).toEqual([
      expect.objectContaining({ id: String(id), raw, tenant: T, subject: SUBJECTS.submit(T) }),
    ]);
    const rootAll = await listAll<{ id: string }>('/v1/rejected', ROOT_KEY, 1);
    expect(rootAll.map((r) => r.id)).toEqual([String(other.id), String(id)]);

    expect(
      (await request(base, 'POST', `/v1/rejected/${other.id}/replay`, { key: admin })).status,
    ).toBe(404);
    expect((await request(base, 'POST', '/v1/rejected/0/replay', { key: admin })).status).toBe(400);
    const res = await request(base, 'POST', `/v1/rejected/${id}/replay`, { key: admin });
    expect(res.status).toBe(202);
    expect(res.body).toEqual(
      expect.objectContaining({
        subject: SUBJECTS.submit(T),
        stream: STREAMS.submit.name,
        msgId: `replay:rejected:${id}`,
        duplicate: false,
      }),
    );
    await waitFor(
      async () =>
        (await env.db
          .selectFrom('workloads')
          .select('id')
          .where('id', '=', submission.id)
          .where('tenant', '=', T)
          .executeTakeFirst()) !== undefined,
      { timeoutMs: 5_000, message: 'the replayed submission ingested' },
    );
    const audited = await sql<{ n: string }>`
      select count(*) as n from audit_log
      where action = 'POST /v1/rejected/:id/replay' and tenant = ${T}`.execute(env.db);
    expect(Number(audited.rows[0]!.n)).toBe(1);
  });
});
