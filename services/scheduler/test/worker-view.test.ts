import type { HeartbeatV1 } from '@niyanta/messages';
import { createSchedulerLogger } from '../src/logger.js';
import { REMOVED_QUARANTINE_MS, WorkerView } from '../src/placement/worker-view.js';

const heartbeat = (workerId: string): HeartbeatV1 => ({
  schemaVersion: 1,
  id: '01a234ff-9d81-7023-b9fc-9dcfc688053e',
  time: new Date().toISOString(),
  workerId,
  status: 'ACTIVE',
  capacity: { slots: 4, cpu: 4, memoryMb: 1024, gpu: 0 },
  labels: {},
  types: ['noop'],
  running: [],
  startedAt: new Date().toISOString(),
  intervalMs: 2000,
});

describe('WorkerView', () => {
  it('keeps a worker declared dead out of placement while its last heartbeats still arrive', () => {
    let now = 1_000_000;
    const view = new WorkerView({
      nc: undefined as never, // onHeartbeat, remove and live use neither connection nor pool
      db: undefined as never,
      heartbeatTimeoutMs: 10_000,
      log: createSchedulerLogger('silent'),
      onCapacity: () => undefined,
      now: () => now,
    });
    view.onHeartbeat(heartbeat('w1'));
    expect(view.live().map((w) => w.id)).toEqual(['w1']);
    view.remove('w1'); // declared dead
    now += 5;
    view.onHeartbeat(heartbeat('w1')); // sent before it died, received after
    expect(view.live()).toEqual([]);
    now += REMOVED_QUARANTINE_MS;
    view.onHeartbeat(heartbeat('w1')); // it really came back
    expect(view.live().map((w) => w.id)).toEqual(['w1']);
  });

  it('ignores advertised types that are not workload type names', () => {
    const view = new WorkerView({
      nc: undefined as never,
      db: undefined as never,
      heartbeatTimeoutMs: 10_000,
      log: createSchedulerLogger('silent'),
      onCapacity: () => undefined,
    });
    view.onHeartbeat({
      ...heartbeat('w1'),
      types: ['noop', 'no\u0000op', 'has space', 'x'.repeat(101), 'lone\ud800', 'noop', 'sleep'],
    });
    expect(view.live().map((w) => w.types)).toEqual([['noop', 'sleep']]);
  });

  it('reports a worker that joins, comes back, or offers more, with its types', () => {
    let now = 1_000_000;
    const grown: string[][] = [];
    const view = new WorkerView({
      nc: undefined as never,
      db: undefined as never,
      heartbeatTimeoutMs: 10_000,
      log: createSchedulerLogger('silent'),
      onCapacity: () => undefined,
      onGrowth: (types) => grown.push([...types]),
      now: () => now,
    });
    const hb = heartbeat('w1');
    view.onHeartbeat(hb); // joins
    view.onHeartbeat(hb); // the same again: nothing new
    view.onHeartbeat({ ...hb, capacity: { ...hb.capacity, gpu: 1 } });
    view.onHeartbeat({ ...hb, capacity: { ...hb.capacity, gpu: 1 }, types: ['noop', 'exec'] });
    view.onHeartbeat({ ...hb, types: ['noop', 'exec'] }); // less: nothing to un-park
    now += 10_001;
    view.onHeartbeat({ ...hb, types: ['noop', 'exec'] }); // silent past the timeout, then back
    view.onHeartbeat({ ...hb, status: 'DRAINING' });
    expect(grown).toEqual([['noop'], ['noop'], ['noop', 'exec'], ['noop', 'exec']]);
  });

  it('reports a worker whose labels, zone, taints, cost or spot change', () => {
    const grown: string[][] = [];
    const view = new WorkerView({
      nc: undefined as never,
      db: undefined as never,
      heartbeatTimeoutMs: 10_000,
      log: createSchedulerLogger('silent'),
      onCapacity: () => undefined,
      onGrowth: (types) => grown.push([...types]),
      now: () => 1_000_000,
    });
    const hb = { ...heartbeat('w1'), labels: { pool: 'a' } };
    view.onHeartbeat(hb); // joins
    view.onHeartbeat({ ...hb, labels: { pool: 'a' } }); // the same labels: nothing
    view.onHeartbeat({ ...hb, labels: { pool: 'b' } });
    view.onHeartbeat({ ...hb, labels: { pool: 'b' }, zone: 'z1' });
    view.onHeartbeat({
      ...hb,
      labels: { pool: 'b' },
      zone: 'z1',
      taints: [{ key: 'gpu', effect: 'NoSchedule' }],
    });
    view.onHeartbeat({ ...hb, labels: { pool: 'b' }, zone: 'z1' }); // the taint is gone
    view.onHeartbeat({ ...hb, labels: { pool: 'b' }, zone: 'z1', costPerHour: 1, spot: true });
    view.onHeartbeat({ ...hb, labels: { pool: 'b' }, zone: 'z1', costPerHour: 1, spot: true });
    expect(grown).toHaveLength(6);
  });
});
