import { envelope } from '@niyanta/messages';
import type { CompletionV1, WaitSpec } from '@niyanta/messages';
import { decideCommand } from '../src/workload-core/decisions/command.js';
import {
  describeWait,
  replayedWait,
  timedOutcome,
  waitingChange,
  wakeChange,
  wakeTime,
} from '../src/workload-core/decisions/wait.js';
import { workloadRow } from './workload-row.js';

const waiting = (wait: WaitSpec, over: Partial<CompletionV1> = {}) =>
  ({
    ...envelope(),
    workloadId: workloadRow().id,
    attempt: 2,
    workerId: 'w1',
    outcome: 'waiting',
    wait,
    ...over,
  }) as CompletionV1 & { wait: WaitSpec };

describe('waitingChange', () => {
  it('moves the run to WAITING, holding no worker, naming the wait', () => {
    const c = waiting({ seq: 3, kind: 'signal', signal: 'approve' });
    expect(waitingChange(workloadRow(), c)).toEqual({
      id: workloadRow().id,
      from: 'RUNNING',
      to: 'WAITING',
      attempt: 2,
      eventWorkerId: 'w1',
      started: true,
      workerId: null,
      pendingReason: null,
      reason: 'waiting for signal "approve" (wait 3)',
    });
  });

  it('records the start of a run that sent no `started`', () => {
    const c = waiting(
      { seq: 0, kind: 'sleep', durationMs: 5 },
      { startedAt: '2030-01-01T00:00:00.000Z' },
    );
    expect(waitingChange(workloadRow({ status: 'SCHEDULED' }), c)).toMatchObject({
      from: 'SCHEDULED',
      to: 'WAITING',
      started: true,
      startedAt: '2030-01-01T00:00:00.000Z',
    });
  });

  it('lets a cancel or pause asked of the run outrank the wait', () => {
    const c = waiting({ seq: 0, kind: 'sleep', durationMs: 5 });
    expect(waitingChange(workloadRow({ requested_action: 'cancel' }), c)).toMatchObject({
      to: 'CANCELLED',
      finished: 'now',
    });
    expect(waitingChange(workloadRow({ requested_action: 'pause' }), c)).toMatchObject({
      to: 'PAUSED',
      workerId: null,
    });
  });
});

describe('wakeChange', () => {
  it('sends the workload back to PENDING at once, raising max_attempts so the wait costs no retry', () => {
    const row = workloadRow({ status: 'WAITING', worker_id: null });
    expect(
      wakeChange(row, { seq: 1, kind: 'signal', signal: 'approve', outcome: { payload: 1 } }),
    ).toEqual({
      id: row.id,
      from: 'WAITING',
      to: 'PENDING',
      attempt: 2,
      eventWorkerId: null,
      workerId: null,
      runAfterMs: null,
      pendingReason: null,
      minMaxAttempts: 4,
      reason: 'wait 1 signal "approve" arrived: resuming',
    });
    expect(
      wakeChange(row, { seq: 0, kind: 'signal', signal: 'x', outcome: { timedOut: true } }).reason,
    ).toBe('wait 0 timed out: resuming');
    expect(wakeChange(row, { seq: 0, kind: 'sleep', signal: null, outcome: {} }).reason).toBe(
      'wait 0 sleep ended: resuming',
    );
  });
});

describe('wake times and outcomes', () => {
  it('ends a sleep at its time or after its duration, and a signal wait at its timeout or never', () => {
    expect(wakeTime({ seq: 0, kind: 'sleep', durationMs: 5000 })).toEqual({ afterMs: 5000 });
    expect(wakeTime({ seq: 0, kind: 'sleep', until: '2030-01-01T00:00:00.000Z' })).toEqual({
      at: '2030-01-01T00:00:00.000Z',
    });
    expect(wakeTime({ seq: 0, kind: 'signal', signal: 'a', timeoutMs: 10 })).toEqual({
      afterMs: 10,
    });
    expect(wakeTime({ seq: 0, kind: 'signal', signal: 'a' })).toBeNull();
    expect(wakeTime({ seq: 0, kind: 'children' })).toBeNull();
  });

  it('ends a sleep by time as over, anything else as timed out', () => {
    expect(timedOutcome('sleep')).toEqual({});
    expect(timedOutcome('signal')).toEqual({ timedOut: true });
    expect(timedOutcome('children')).toEqual({ timedOut: true });
  });

  it('replays a signal with its payload (null when none), a timeout, a kind-specific value', () => {
    expect(
      replayedWait({ seq: 2, kind: 'signal', signal: 'a', outcome: { payload: undefined } }),
    ).toEqual({ seq: 2, kind: 'signal', signal: 'a', payload: null });
    expect(
      replayedWait({ seq: 2, kind: 'signal', signal: 'a', outcome: { timedOut: true } }),
    ).toEqual({ seq: 2, kind: 'signal', signal: 'a', timedOut: true });
    expect(replayedWait({ seq: 0, kind: 'sleep', signal: null, outcome: {} })).toEqual({
      seq: 0,
      kind: 'sleep',
    });
    expect(
      replayedWait({ seq: 1, kind: 'children', signal: null, outcome: { value: [1, 2] } }),
    ).toEqual({ seq: 1, kind: 'children', value: [1, 2] });
  });

  it('describes each kind', () => {
    expect(describeWait({ kind: 'sleep' })).toBe('sleeping');
    expect(describeWait({ kind: 'signal', signal: 'ok' })).toBe('waiting for signal "ok"');
    expect(describeWait({ kind: 'children' })).toBe('waiting for its children');
  });
});

describe('commands on a WAITING workload', () => {
  const row = workloadRow({ status: 'WAITING', worker_id: null });

  it('cancels it at once, with no order to a worker', () => {
    const d = decideCommand(row, 'cancel');
    expect(d.change).toMatchObject({ from: 'WAITING', to: 'CANCELLED', finished: 'now' });
    expect(d.control).toBeUndefined();
  });

  it('pauses it at once; resume is for PAUSED only', () => {
    expect(decideCommand(row, 'pause').change).toMatchObject({ from: 'WAITING', to: 'PAUSED' });
    expect(decideCommand(row, 'resume').ignored).toBe('resume of a WAITING workload');
  });

  it('keeps a signal for any workload that has not ended', () => {
    for (const status of ['PENDING', 'SCHEDULED', 'RUNNING', 'PAUSED', 'WAITING'])
      expect(decideCommand(workloadRow({ status }), 'signal')).toEqual({ signal: true });
    expect(decideCommand(workloadRow({ status: 'COMPLETED' }), 'signal').ignored).toBe(
      'signal to a COMPLETED workload',
    );
  });
});
