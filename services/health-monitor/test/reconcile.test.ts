import { Reconciler, staleReason } from '../src/index.js';
import type { ActiveWorkload, CurrentAttempt, WorkerRuns } from '../src/index.js';

const timings = { graceMs: 600, startDeadlineMs: 5_000, repeatMs: 10_000 };
const WL = '0190a0a0-0000-7000-8000-000000000001';
const WL2 = '0190a0a0-0000-7000-8000-000000000002';

const worker = (over: Partial<WorkerRuns> = {}): WorkerRuns => ({
  id: 'w1',
  status: 'ACTIVE',
  lastHeartbeatAtMs: 1_000,
  running: [],
  ...over,
});
const running = (over: Partial<ActiveWorkload> = {}): ActiveWorkload => ({
  id: WL,
  attempt: 1,
  status: 'RUNNING',
  workerId: 'w1',
  sinceMs: 1_000,
  ...over,
});
const none = new Map<string, CurrentAttempt>();

describe('Reconciler: lost attempts', () => {
  it('reports a RUNNING attempt missing from two successive heartbeats of its live worker', () => {
    const r = new Reconciler(timings);
    const active = [running()];
    // First round: suspicion only (this heartbeat row may predate the start).
    expect(r.round({ nowMs: 0, workers: [worker()], active, current: none }).lost).toEqual([]);
    // Same heartbeat again: nothing new learnt.
    expect(r.round({ nowMs: 300, workers: [worker()], active, current: none }).lost).toEqual([]);
    const found = r.round({
      nowMs: 600,
      workers: [worker({ lastHeartbeatAtMs: 1_300 })],
      active,
      current: none,
    });
    expect(found.lost).toEqual([
      {
        workerId: 'w1',
        workloadId: WL,
        attempt: 1,
        status: 'RUNNING',
        reason: 'missing from the heartbeats of worker w1 for more than 600 ms after it started',
      },
    ]);
  });

  it('does not report an attempt its worker lists, or one younger than the grace period', () => {
    const r = new Reconciler(timings);
    for (let i = 0; i < 3; i++) {
      const found = r.round({
        nowMs: i * 300,
        workers: [
          worker({
            lastHeartbeatAtMs: 1_000 + i * 300,
            running: [{ workloadId: WL, attempt: 1 }],
          }),
        ],
        active: [running(), running({ id: WL2, sinceMs: 100 })],
        current: new Map([[WL, { id: WL, attempt: 1, status: 'RUNNING', workerId: 'w1' }]]),
      });
      expect(found).toEqual({ lost: [], stale: [] });
    }
  });

  it('forgets a suspicion once the worker lists the attempt again', () => {
    const r = new Reconciler(timings);
    const active = [running()];
    r.round({ nowMs: 0, workers: [worker()], active, current: none });
    r.round({
      nowMs: 300,
      workers: [worker({ lastHeartbeatAtMs: 1_300, running: [{ workloadId: WL, attempt: 1 }] })],
      active,
      current: new Map([[WL, { id: WL, attempt: 1, status: 'RUNNING', workerId: 'w1' }]]),
    });
    // Missing again: a fresh suspicion, not yet a report.
    expect(
      r.round({
        nowMs: 600,
        workers: [worker({ lastHeartbeatAtMs: 1_600 })],
        active,
        current: none,
      }).lost,
    ).toEqual([]);
  });

  it('hands back a SCHEDULED attempt not started within the start deadline', () => {
    const r = new Reconciler(timings);
    const young = [running({ status: 'SCHEDULED', sinceMs: 4_000 })];
    r.round({ nowMs: 0, workers: [worker()], active: young, current: none });
    expect(
      r.round({
        nowMs: 300,
        workers: [worker({ lastHeartbeatAtMs: 1_300 })],
        active: young,
        current: none,
      }).lost,
    ).toEqual([]);
    const old = [running({ status: 'SCHEDULED', sinceMs: 5_100 })];
    r.round({
      nowMs: 600,
      workers: [worker({ lastHeartbeatAtMs: 1_600 })],
      active: old,
      current: none,
    });
    const found = r.round({
      nowMs: 900,
      workers: [worker({ lastHeartbeatAtMs: 1_900 })],
      active: old,
      current: none,
    });
    expect(found.lost).toEqual([
      expect.objectContaining({
        workloadId: WL,
        status: 'SCHEDULED',
        reason: 'not started by worker w1 within 5000 ms',
      }),
    ]);
  });

  it('reports attempts on a dead or unknown worker after a grace period of rounds', () => {
    const r = new Reconciler(timings);
    const active = [running(), running({ id: WL2, workerId: 'gone' })];
    const dead = [worker({ status: 'DEAD' })];
    expect(r.round({ nowMs: 0, workers: dead, active, current: none }).lost).toEqual([]);
    expect(r.round({ nowMs: 500, workers: dead, active, current: none }).lost).toEqual([]);
    const found = r.round({ nowMs: 600, workers: dead, active, current: none });
    expect(found.lost.map((l) => l.reason).sort()).toEqual([
      'worker gone is unknown to the health monitor',
      'worker w1 is DEAD',
    ]);
  });

  it('finds the attempts missing among 10,000 runs of one worker, by worker and attempt', () => {
    const id = (i: number) => `0190a0a0-0000-7000-8000-${String(i).padStart(12, '0')}`;
    const active = Array.from({ length: 10_000 }, (_, i) => running({ id: id(i) }));
    // Run 7 is not listed, run 8 only with an older attempt, run 9 only by another worker.
    const listed = active
      .filter((_, i) => i !== 7 && i !== 9)
      .map((w) => ({ workloadId: w.id, attempt: w.id === id(8) ? 0 : 1 }));
    const other = worker({ id: 'w2', running: [{ workloadId: id(9), attempt: 1 }] });
    const r = new Reconciler(timings);
    r.round({ nowMs: 0, workers: [worker({ running: listed }), other], active, current: none });
    const found = r.round({
      nowMs: 300,
      workers: [worker({ lastHeartbeatAtMs: 1_300, running: listed }), other],
      active,
      current: none,
    });
    expect(found.lost.map((l) => l.workloadId)).toEqual([id(7), id(8), id(9)]);
  });

  it('reports a finding once, then again only after repeatMs', () => {
    const r = new Reconciler(timings);
    const active = [running()];
    const round = (nowMs: number) =>
      r.round({
        nowMs,
        workers: [worker({ lastHeartbeatAtMs: 1_000 + nowMs })],
        active,
        current: none,
      });
    round(0);
    const first = round(300);
    expect(first.lost).toHaveLength(1);
    r.reported(first, 300);
    expect(round(600).lost).toEqual([]);
    expect(round(10_300).lost).toHaveLength(1);
  });
});

describe('Reconciler: stale runs', () => {
  const current = (over: Partial<CurrentAttempt> = {}) =>
    new Map([[WL, { id: WL, attempt: 2, status: 'RUNNING', workerId: 'w2', ...over }]]);

  it('tells a live worker to stop an attempt that is no longer current, once per repeatMs', () => {
    const r = new Reconciler(timings);
    const workers = [worker({ running: [{ workloadId: WL, attempt: 1 }] })];
    const found = r.round({ nowMs: 0, workers, active: [], current: current() });
    expect(found.stale).toEqual([
      {
        workerId: 'w1',
        workloadId: WL,
        attempt: 1,
        reason: 'attempt 1 is stale: the workload is on attempt 2',
      },
    ]);
    r.reported(found, 0);
    expect(r.round({ nowMs: 300, workers, active: [], current: current() }).stale).toEqual([]);
    expect(r.round({ nowMs: 10_000, workers, active: [], current: current() }).stale).toHaveLength(
      1,
    );
  });

  it('sends nothing to dead workers', () => {
    const r = new Reconciler(timings);
    const workers = [worker({ status: 'DEAD', running: [{ workloadId: WL, attempt: 1 }] })];
    expect(r.round({ nowMs: 0, workers, active: [], current: current() }).stale).toEqual([]);
  });

  it('says why a run is stale, and leaves current or not-yet-committed attempts alone', () => {
    const run = { workloadId: WL, attempt: 2 };
    const row = (over: Partial<CurrentAttempt>): CurrentAttempt => ({
      id: WL,
      attempt: 2,
      status: 'RUNNING',
      workerId: 'w1',
      ...over,
    });
    expect(staleReason('w1', run, row({}))).toBeUndefined();
    expect(staleReason('w1', run, row({ status: 'SCHEDULED' }))).toBeUndefined();
    expect(staleReason('w1', run, row({ attempt: 1 }))).toBeUndefined();
    expect(staleReason('w1', run, undefined)).toBe(`workload ${WL} does not exist`);
    expect(staleReason('w1', run, row({ attempt: 3 }))).toBe(
      'attempt 2 is stale: the workload is on attempt 3',
    );
    expect(staleReason('w1', run, row({ status: 'COMPLETED' }))).toBe(
      'attempt 2 is no longer running: the workload is COMPLETED',
    );
    expect(staleReason('w1', run, row({ status: 'PENDING', workerId: null }))).toBe(
      'attempt 2 is no longer running: the workload is PENDING',
    );
    expect(staleReason('w1', run, row({ workerId: 'w2' }))).toBe(
      'attempt 2 belongs to worker w2, not w1',
    );
  });
});
