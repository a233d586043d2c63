import type { HeartbeatV1 } from '@niyanta/messages';
import { createSchedulerLogger } from '../src/logger.js';
import { REMOVED_QUARANTINE_MS, WorkerView } from '../src/worker-view.js';

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
});
