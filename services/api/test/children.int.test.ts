import { childWorkloadId } from '@niyanta/messages';
import type { WorkloadV1 } from '@niyanta/messages';
import { createKey, insertWorkload, request, startTwoTenants } from './identity-support.js';
import type { IdentityEnv } from './identity-support.js';

let env: IdentityEnv;
let base: string;
let viewer: string;
let other: string;
let parent: string;

beforeAll(async () => {
  ({ env, base } = await startTwoTenants('kid-a', 'kid-b'));
  viewer = (await createKey(base, 'kid-a', 'viewer')).key;
  other = (await createKey(base, 'kid-b', 'viewer')).key;
  parent = await insertWorkload(env.db, 'kid-a', 'RUNNING');
  // The scheduler's part: 102 children, the last two ended, the first detached.
  await env.db
    .insertInto('workloads')
    .values(
      Array.from({ length: 102 }, (_, i) => ({
        id: childWorkloadId(parent, i),
        tenant: 'kid-a',
        type: i % 2 === 0 ? 'even' : 'odd',
        status: i >= 100 ? 'COMPLETED' : 'PENDING',
        priority: 500,
        max_attempts: 3,
        input: JSON.stringify({ i }),
        labels: '{}',
        requirements: '{}',
        parent_id: parent,
        child_index: i,
        detached: i === 0,
      })),
    )
    .execute();
});

afterAll(async () => {
  await env?.close();
});

describe('child workloads over HTTP', () => {
  it('GET of a parent shows its children: total, counts per status and the first 100 in call order', async () => {
    const res = await request(base, 'GET', `/v1/workloads/${parent}`, { key: viewer });
    expect(res.status).toBe(200);
    const w = res.body as WorkloadV1;
    expect(w.parentId).toBeNull();
    expect(w.children).toMatchObject({ total: 102, counts: { PENDING: 100, COMPLETED: 2 } });
    expect(w.children!.items).toHaveLength(100);
    expect(w.children!.items[0]).toEqual({
      id: childWorkloadId(parent, 0),
      index: 0,
      type: 'even',
      status: 'PENDING',
    });
    expect(w.children!.items.map((c) => c.index)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('GET of a child shows its parent and whether it is detached; a plain workload shows neither children nor detached', async () => {
    const first = (
      await request(base, 'GET', `/v1/workloads/${childWorkloadId(parent, 0)}`, {
        key: viewer,
      })
    ).body as WorkloadV1;
    expect(first).toMatchObject({ parentId: parent, detached: true });
    expect(first.children).toBeUndefined();
    const second = (
      await request(base, 'GET', `/v1/workloads/${childWorkloadId(parent, 1)}`, {
        key: viewer,
      })
    ).body as WorkloadV1;
    expect(second).toMatchObject({ parentId: parent, detached: false });
    const plain = await insertWorkload(env.db, 'kid-a');
    const shown = (await request(base, 'GET', `/v1/workloads/${plain}`, { key: viewer }))
      .body as WorkloadV1;
    expect(shown.parentId).toBeNull();
    expect(shown).not.toHaveProperty('children');
    expect(shown).not.toHaveProperty('detached');
  });

  it('lists the children by parentId, and answers 400 naming a bad parentId', async () => {
    const page = await request(base, 'GET', `/v1/workloads?parentId=${parent}&limit=500`, {
      key: viewer,
    });
    const items = (page.body as { items: WorkloadV1[] }).items;
    expect(items).toHaveLength(102);
    expect(items.every((w) => w.parentId === parent)).toBe(true);
    const bad = await request(base, 'GET', '/v1/workloads?parentId=nope', { key: viewer });
    expect(bad.status).toBe(400);
    expect((bad.body as { errors: { path: string }[] }).errors[0]!.path).toBe('parentId');
  });

  it('shows another tenant neither the parent nor its children', async () => {
    expect((await request(base, 'GET', `/v1/workloads/${parent}`, { key: other })).status).toBe(
      404,
    );
    const page = await request(base, 'GET', `/v1/workloads?parentId=${parent}`, { key: other });
    expect((page.body as { items: WorkloadV1[] }).items).toEqual([]);
  });
});
