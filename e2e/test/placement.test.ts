import { sql } from 'kysely';
import { waitFor } from '@niyanta/testing';
import { startSystem } from './support/system.js';
import type { System } from './support/system.js';

/** Workloads per worker id among `ids`. */
async function perWorker(sys: System, ids: string[]): Promise<Record<string, number>> {
  const rows = await sys.db
    .selectFrom('workloads')
    .select(['worker_id', sql<number>`count(*)::int`.as('n')])
    .where('id', 'in', ids)
    .groupBy('worker_id')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.worker_id ?? 'none', r.n]));
}

async function submitAll(sys: System, bodies: Record<string, unknown>[]): Promise<string[]> {
  const ids: string[] = [];
  for (const body of bodies) ids.push((await sys.submit(body)).id);
  return ids;
}

const TOLERATE = { key: 'dedicated', operator: 'Exists' };

describe('placement policies', () => {
  it('follows zone affinity, taints and spread, and explains why a workload waits', async () => {
    await using sys = await startSystem({
      workers: [
        { id: 'pz-a', slots: 6, env: { WORKER_ZONE: 'zone-a' } },
        { id: 'pz-b', slots: 6, env: { WORKER_ZONE: 'zone-b' } },
        {
          id: 'pz-c',
          slots: 6,
          env: { WORKER_ZONE: 'zone-c', WORKER_TAINTS: 'dedicated=batch:NoSchedule' },
        },
      ],
    });
    try {
      const workers = await sys.api<{ items: { id: string; taints: unknown[] }[] }>(
        'GET',
        '/v1/workers',
      );
      expect(workers.body.items.find((w) => w.id === 'pz-c')!.taints).toEqual([
        { key: 'dedicated', value: 'batch', effect: 'NoSchedule' },
      ]);

      // A zone affinity runs only on that zone's worker.
      const zoned = await submitAll(
        sys,
        Array.from({ length: 5 }, () => ({
          type: 'sleep',
          input: { durationMs: 20, steps: 1 },
          placement: { affinity: [{ key: 'zone', operator: 'In', values: ['zone-b'] }] },
        })),
      );
      for (const id of zoned) await sys.waitForStatus(id, 'COMPLETED', 30_000);
      expect(await perWorker(sys, zoned)).toEqual({ 'pz-b': 5 });

      // A tainted worker gets only tolerating work.
      const plain = await submitAll(
        sys,
        Array.from({ length: 8 }, () => ({ type: 'sleep', input: { durationMs: 50, steps: 1 } })),
      );
      const tolerating = await submitAll(
        sys,
        Array.from({ length: 3 }, () => ({
          type: 'sleep',
          input: { durationMs: 50, steps: 1 },
          placement: {
            tolerations: [TOLERATE],
            affinity: [{ key: 'worker', operator: 'In', values: ['pz-c'] }],
          },
        })),
      );
      for (const id of [...plain, ...tolerating]) await sys.waitForStatus(id, 'COMPLETED', 30_000);
      expect(Object.keys(await perWorker(sys, plain)).sort()).not.toContain('pz-c');
      expect(await perWorker(sys, tolerating)).toEqual({ 'pz-c': 3 });

      // 12 workloads spread with maxSkew 1 over 3 zones end 4/4/4, even when bin-packed.
      const spread = await submitAll(
        sys,
        Array.from({ length: 12 }, () => ({
          type: 'sleep',
          input: { durationMs: 60_000, steps: 60 },
          labels: { app: 'spread' },
          placement: {
            strategy: 'binpack',
            tolerations: [TOLERATE],
            spread: { topologyKey: 'zone', maxSkew: 1, labels: { app: 'spread' } },
          },
        })),
      );
      for (const id of spread) await sys.waitForStatus(id, ['SCHEDULED', 'RUNNING'], 30_000);
      expect(await perWorker(sys, spread)).toEqual({ 'pz-a': 4, 'pz-b': 4, 'pz-c': 4 });

      // The explain route shows why a workload waits.
      const waiting = await sys.submit({
        type: 'sleep',
        input: { durationMs: 10, steps: 1 },
        placement: { affinity: [{ key: 'zone', operator: 'In', values: ['zone-x'] }] },
      });
      let explained: {
        status: string;
        pendingReason: string | null;
        evaluatedAt: string | null;
        workers: { workerId: string; feasible: boolean; reasons: string[] }[];
      } = { status: '', pendingReason: null, evaluatedAt: null, workers: [] };
      await waitFor(
        async () => {
          const res = await sys.api<typeof explained>(
            'GET',
            `/v1/workloads/${waiting.id}/placement`,
          );
          explained = res.body;
          return res.status === 200 && explained.evaluatedAt !== null;
        },
        { timeoutMs: 30_000, message: 'an evaluation of the waiting workload' },
      );
      expect(explained.status).toBe('PENDING');
      expect(explained.pendingReason).toMatch(/label zone is not one of \[zone-x\]/);
      expect(explained.workers.map((w) => w.workerId).sort()).toEqual(['pz-a', 'pz-b', 'pz-c']);
      expect(explained.workers.every((w) => !w.feasible && w.reasons.length > 0)).toBe(true);

      // A placed workload shows the decision that placed it.
      const placed = await sys.api<{ workerId: string | null; workers: { scores: object }[] }>(
        'GET',
        `/v1/workloads/${spread[0]}/placement`,
      );
      expect(placed.body.workerId).toMatch(/^pz-/);

      // A bad term is a 400 naming its JSON Pointer path.
      const bad = await sys.api<{ errors: { path: string }[] }>('POST', '/v1/workloads', {
        type: 'sleep',
        input: {},
        placement: { affinity: [{ key: 'zone', operator: 'Near' }] },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.errors.map((e) => e.path)).toContain('/placement/affinity/0/operator');
    } catch (err) {
      throw new Error(`${String(err)}\n${sys.output()}`, { cause: err });
    }
  }, 240_000);
});
