import { uuidv7 } from '@niyanta/messages';
import { sql } from 'kysely';
import { createKey, insertWorkload, request, startTwoTenants } from './identity-support.js';
import type { IdentityEnv } from './identity-support.js';

let env: IdentityEnv;
let base: string;
let key: string;
let mine: string;
let theirs: string;

beforeAll(async () => {
  ({ env, base } = await startTwoTenants('deps-a', 'deps-b'));
  key = (await createKey(base, 'deps-a', 'submitter')).key;
  mine = await insertWorkload(env.db, 'deps-a');
  theirs = await insertWorkload(env.db, 'deps-b');
});

afterAll(async () => {
  await env?.close();
});

interface Problem {
  errors: { path: string; message: string }[];
}

const post = (path: string, body: unknown) => request(base, 'POST', path, { key, body });
const item = (over: Record<string, unknown>) => ({ type: 'noop', input: {}, ...over });

describe('dependsOn', () => {
  it("refuses another tenant's workload and an unknown id as unknown, naming the index", async () => {
    const res = await post('/v1/workloads', item({ dependsOn: [mine, theirs] }));
    expect(res.status).toBe(400);
    expect((res.body as Problem).errors).toEqual([
      expect.objectContaining({
        path: '/dependsOn/1',
        message: `no workload ${theirs} in tenant deps-a`,
      }),
    ]);
    const batch = await post('/v1/workloads/batch', {
      workloads: [item({}), item({}), item({ dependsOn: [mine, uuidv7()] })],
    });
    expect(batch.status).toBe(400);
    expect((batch.body as Problem).errors).toEqual([
      expect.objectContaining({ path: '/workloads/2/dependsOn/1' }),
    ]);
  });

  it('refuses a ref outside a batch, more than 100 dependencies, and a bad onDependencyFailure', async () => {
    const single = await post('/v1/workloads', item({ dependsOn: ['a'] }));
    expect(single.status).toBe(400);
    expect((single.body as Problem).errors).toEqual([
      expect.objectContaining({ path: '/dependsOn/0' }),
    ]);
    const many = Array.from({ length: 101 }, (_, i) => `r${i}`);
    const tooMany = await post('/v1/workloads', item({ dependsOn: many }));
    expect(tooMany.status).toBe(400);
    expect((tooMany.body as Problem).errors).toEqual([
      expect.objectContaining({ path: '/dependsOn' }),
    ]);
    const mode = await post(
      '/v1/workloads',
      item({ dependsOn: [mine], onDependencyFailure: 'skip' }),
    );
    expect(mode.status).toBe(400);
    expect((mode.body as Problem).errors).toEqual([
      expect.objectContaining({ path: '/onDependencyFailure' }),
    ]);
  });

  it('refuses duplicate refs, unknown refs and cycles in a batch', async () => {
    const dup = await post('/v1/workloads/batch', {
      workloads: [item({ ref: 'a' }), item({ ref: 'a' })],
    });
    expect(dup.status).toBe(400);
    expect((dup.body as Problem).errors).toEqual([
      expect.objectContaining({ path: '/workloads/1/ref' }),
    ]);
    const unknown = await post('/v1/workloads/batch', {
      workloads: [item({ ref: 'a' }), item({ dependsOn: ['a', 'b'] })],
    });
    expect(unknown.status).toBe(400);
    expect((unknown.body as Problem).errors).toEqual([
      expect.objectContaining({ path: '/workloads/1/dependsOn/1' }),
    ]);
    const cycle = await post('/v1/workloads/batch', {
      workloads: [
        item({ ref: 'a', dependsOn: ['c'] }),
        item({ ref: 'b', dependsOn: ['a'] }),
        item({ ref: 'c', dependsOn: ['b'] }),
      ],
    });
    expect(cycle.status).toBe(400);
    const [err] = (cycle.body as Problem).errors;
    expect(err!.message).toMatch(/cycle: "(a|b|c)" → "(a|b|c)" → "(a|b|c)" → "(a|b|c)"/);
  });

  it('answers a batch graph with its refs, and shows dependsOn and dependents', async () => {
    const res = await post('/v1/workloads/batch', {
      workloads: [
        item({ ref: 'last', dependsOn: ['first', mine] }),
        item({ ref: 'first' }),
        item({}),
      ],
    });
    expect(res.status).toBe(201);
    const body = res.body as { items: { id: string }[]; refs: Record<string, string> };
    expect(body.refs).toEqual({ last: body.items[0]!.id, first: body.items[1]!.id });
    // The stand-in ingest stores no edges: write them as the scheduler would.
    await sql`insert into workload_dependencies (workload_id, depends_on, position, ref) values
      (${body.refs.last}, ${body.refs.first}, 0, 'first'), (${body.refs.last}, ${mine}, 1, null)`.execute(
      env.db,
    );
    const last = await request(base, 'GET', `/v1/workloads/${body.refs.last}`, { key });
    expect(last.body).toMatchObject({ dependsOn: [body.refs.first, mine] });
    expect(last.body).not.toHaveProperty('dependents');
    const first = await request(base, 'GET', `/v1/workloads/${mine}`, { key });
    expect(first.body).toMatchObject({ dependents: [body.refs.last] });
    expect(first.body).not.toHaveProperty('dependsOn');
    // A workload outside any graph reads as before.
    const plain = await request(base, 'GET', `/v1/workloads/${body.items[2]!.id}`, { key });
    expect(plain.body).not.toHaveProperty('dependsOn');
    expect(plain.body).not.toHaveProperty('dependents');
  });
});
