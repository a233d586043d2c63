import { envelope } from '@niyanta/messages';
import type { RunUpdateV1 } from '@niyanta/messages';
import { placedReason, placementChange } from '../src/workload-core/decisions/placement.js';
import { latestProgress, startedChange } from '../src/workload-core/decisions/run-update.js';
import { unfinishedRunReason } from '../src/workload-core/decisions/worker-dead.js';
import { workloadRow } from './workload-row.js';

const update = (over: Partial<RunUpdateV1>): RunUpdateV1 => ({
  ...envelope(),
  workloadId: 'a',
  attempt: 1,
  workerId: 'w1',
  kind: 'progress',
  ...over,
});

describe('startedChange', () => {
  it('moves a SCHEDULED run to RUNNING from the time the worker gives', () => {
    const u = update({ kind: 'started', time: '2030-01-01T00:00:00.000Z' });
    expect(startedChange(workloadRow({ status: 'SCHEDULED' }), u)).toEqual({
      id: workloadRow().id,
      from: 'SCHEDULED',
      to: 'RUNNING',
      attempt: 2,
      started: true,
      startedAt: '2030-01-01T00:00:00.000Z',
      reason: 'started on w1',
    });
  });

  it('does nothing to a run that is past SCHEDULED', () => {
    expect(startedChange(workloadRow(), update({ kind: 'started' }))).toBeUndefined();
  });
});

describe('latestProgress', () => {
  it('keeps the last progress of each workload and leaves out those with a start', () => {
    const first = update({ progress: { fraction: 0.1 } });
    const last = update({ progress: { fraction: 0.2 } });
    const started = update({ workloadId: 'b', kind: 'started' });
    const afterStart = update({ workloadId: 'b', progress: { fraction: 0.3 } });
    const empty = update({ workloadId: 'c' });
    const latest = latestProgress([first, last, started, afterStart, empty]);
    expect([...latest.keys()]).toEqual(['a']);
    expect(latest.get('a')).toBe(last);
  });
});

describe('placementChange', () => {
  it('schedules the workload on the worker at the next attempt, saying where', () => {
    expect(placementChange({ id: 'a', attempt: 0, workerId: 'w1' })).toEqual({
      id: 'a',
      from: 'PENDING',
      to: 'SCHEDULED',
      attempt: 0,
      incrementAttempt: true,
      workerId: 'w1',
      pendingReason: null,
      reason: placedReason('w1'),
    });
    expect(placedReason('w1')).toBe('placed on w1');
  });
});

describe('unfinishedRunReason', () => {
  const row = { id: 'a', attempt: 2, worker_id: 'w1' };

  it('names the dead worker, with its reason, for any run on it', () => {
    expect(unfinishedRunReason(row, new Map([['w1', 'silent']]), new Map())).toBe(
      'worker w1 declared dead: silent',
    );
    expect(unfinishedRunReason(row, new Map([['w1', undefined]]), new Map())).toBe(
      'worker w1 declared dead',
    );
  });

  it('sends back a lost attempt only if it is that attempt on that worker', () => {
    const lost = (attempt: number, workerId: string) =>
      new Map([['a', { attempt, workerId, reason: 'not running' }]]);
    expect(unfinishedRunReason(row, new Map(), lost(2, 'w1'))).toBe(
      'attempt 2 lost on worker w1: not running',
    );
    expect(unfinishedRunReason(row, new Map(), lost(1, 'w1'))).toBeUndefined();
    expect(unfinishedRunReason(row, new Map(), lost(2, 'w2'))).toBeUndefined();
    expect(unfinishedRunReason(row, new Map([['w2', undefined]]), new Map())).toBeUndefined();
  });
});
