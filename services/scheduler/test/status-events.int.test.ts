import { DEFAULT_TENANT, SUBJECTS, decode } from '@niyanta/messages';
import type { StatusEventsV1 } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { startFakeWorker, startHarness, submission, submit, waitForWorkload } from './harness.js';
import type { Harness } from './harness.js';

jest.setTimeout(60_000);

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

describe('status events', () => {
  it('a placement cycle placing N workloads publishes one event message with N changes', async () => {
    const N = 20;
    // No worker handles the type yet: every one waits in PENDING.
    const waiting = Array.from({ length: N }, () => submission('batched-events'));
    for (const s of waiting) await submit(h, s);
    for (const s of waiting) {
      await waitForWorkload(h, s.id, (r) => r.status === 'PENDING', 'PENDING');
    }
    const ids = new Set(waiting.map((s) => s.id));
    const messages: StatusEventsV1[] = [];
    const sub = h.nc.subscribe(SUBJECTS.events(DEFAULT_TENANT));
    void (async () => {
      for await (const m of sub) {
        const d = decode('statusEvents', m.data);
        if (d.ok) messages.push(d.value);
      }
    })();
    try {
      // A worker that takes them all joins: one placement transaction places the N.
      await using worker = await startFakeWorker(h, {
        id: 'fw-batched-events',
        types: ['batched-events'],
        capacity: { slots: N },
      });
      for (const s of waiting) await worker.waitForAssignment(s.id);
      const placed = (m: StatusEventsV1) =>
        m.changes.filter((c) => ids.has(c.workloadId) && c.to === 'SCHEDULED');
      await waitFor(() => messages.some((m) => placed(m).length > 0), {
        message: 'the placement status event',
      });
      const withPlacements = messages.filter((m) => placed(m).length > 0);
      expect(withPlacements).toHaveLength(1);
      const [message] = withPlacements;
      expect(message!.tenant).toBe(DEFAULT_TENANT);
      expect(placed(message!)).toHaveLength(N);
      expect(new Set(placed(message!).map((c) => c.workloadId))).toEqual(ids);
      for (const c of placed(message!)) {
        expect(c).toMatchObject({
          kind: 'status',
          from: 'PENDING',
          to: 'SCHEDULED',
          attempt: 1,
          workerId: 'fw-batched-events',
          reason: 'placed on fw-batched-events',
        });
        expect(c).not.toHaveProperty('workload');
      }
    } finally {
      sub.unsubscribe();
    }
  });
});
