import { envelope } from '@niyanta/messages';
import type { CompletionV1 } from '@niyanta/messages';
import { decideCommand } from '../src/workload-core/decisions/command.js';
import {
  completionChange,
  unfinishedRunChange,
} from '../src/workload-core/decisions/completion.js';
import { NEWER_ATTEMPT_MAX_DELIVERIES, fence } from '../src/workload-core/decisions/fence.js';
import { waitingReason } from '../src/workload-core/decisions/submission.js';
import { workloadRow } from './workload-row.js';

const row = workloadRow;
const completion = (over: Partial<CompletionV1>): CompletionV1 => ({
  ...envelope(),
  workloadId: row().id,
  attempt: 2,
  workerId: 'w1',
  outcome: 'succeeded',
  ...over,
});
const backoff = { baseMs: 1000, maxMs: 60_000, random: () => 1 };

describe('fence', () => {
  it('applies only the current attempt of an active run from its worker', () => {
    expect(fence(row(), { attempt: 2, workerId: 'w1' })).toBe('apply');
    expect(fence(row(), { attempt: 1, workerId: 'w1' })).toBe('discard');
    expect(fence(row(), { attempt: 3, workerId: 'w1' })).toBe('later');
    expect(fence(row({ status: 'COMPLETED' }), { attempt: 2, workerId: 'w1' })).toBe('discard');
    expect(fence(row({ status: 'PENDING', worker_id: null }), { attempt: 2, workerId: 'w1' })).toBe(
      'discard',
    );
    expect(fence(row(), { attempt: 2, workerId: 'w2' })).toBe('discard');
    // No row: no run this scheduler assigned (assignments go out after their commit).
    expect(fence(undefined, { attempt: 2, workerId: 'w1' })).toBe('later');
    expect(fence(undefined, { attempt: 2, workerId: 'w1' }, 20)).toBe('abandon');
  });

  it('gives up on a newer attempt after about 20 deliveries: no placement of it committed', () => {
    expect(NEWER_ATTEMPT_MAX_DELIVERIES).toBe(20);
    expect(fence(row(), { attempt: 3, workerId: 'w1' }, 19)).toBe('later');
    expect(fence(row(), { attempt: 3, workerId: 'w1' }, 20)).toBe('abandon');
    expect(fence(row(), { attempt: 3, workerId: 'w1' }, 500)).toBe('abandon');
    // The cap is only for newer attempts: the current one applies however often it came.
    expect(fence(row(), { attempt: 2, workerId: 'w1' }, 500)).toBe('apply');
  });
});

describe('a requested cancel or pause', () => {
  const cancel = { requested_action: 'cancel' as const };
  const pause = { requested_action: 'pause' as const };
  const retryable = { message: 'boom', code: 'X', retryable: true };

  it('ends a run whose worker died or whose attempt was lost instead of running it again', () => {
    expect(unfinishedRunChange(row(cancel), 'worker w1 declared dead')).toMatchObject({
      from: 'RUNNING',
      to: 'CANCELLED',
      finished: 'now',
      eventWorkerId: 'w1',
      reason: 'cancelled as requested (worker w1 declared dead)',
    });
    expect(unfinishedRunChange(row(pause), 'attempt 2 lost on worker w1')).toMatchObject({
      to: 'PAUSED',
      workerId: null,
      reason: 'paused as requested (attempt 2 lost on worker w1)',
    });
    expect(unfinishedRunChange(row(), 'worker w1 declared dead')).toMatchObject({
      to: 'PENDING',
      workerId: null,
      runAfterMs: null,
      pendingReason: 'worker w1 declared dead',
    });
  });

  it('ends a released run or a retryable failure instead of a retry', () => {
    expect(
      completionChange(row(cancel), completion({ outcome: 'released' }), backoff),
    ).toMatchObject({ to: 'CANCELLED', finished: 'now' });
    expect(
      completionChange(row(pause), completion({ outcome: 'released' }), backoff),
    ).toMatchObject({ to: 'PAUSED', workerId: null });
    const failed = completion({ outcome: 'failed', error: retryable });
    const cancelled = completionChange(row(cancel), failed, backoff);
    expect(cancelled).toMatchObject({ to: 'CANCELLED', error: retryable, started: true });
    expect(cancelled.runAfterMs).toBeUndefined();
    expect(completionChange(row(pause), failed, backoff)).toMatchObject({
      to: 'PAUSED',
      error: retryable,
    });
  });

  it("leaves the run's own final word alone, except a pause overtaken by a cancel", () => {
    expect(completionChange(row(cancel), completion({ result: 1 }), backoff).to).toBe('COMPLETED');
    const notRetryable = { ...retryable, retryable: false };
    expect(
      completionChange(row(cancel), completion({ outcome: 'failed', error: notRetryable }), backoff)
        .to,
    ).toBe('FAILED');
    expect(completionChange(row(pause), completion({ outcome: 'paused' }), backoff).to).toBe(
      'PAUSED',
    );
    expect(completionChange(row(cancel), completion({ outcome: 'paused' }), backoff)).toMatchObject(
      { to: 'CANCELLED', finished: 'now' },
    );
  });
});

describe('completionChange', () => {
  it('retries a retryable failure below maxAttempts after a backoff, saying so', () => {
    const c = completionChange(
      row(),
      completion({ outcome: 'failed', error: { message: 'boom', code: 'X', retryable: true } }),
      backoff,
    );
    expect(c).toMatchObject({
      to: 'PENDING',
      workerId: null,
      runAfterMs: 2000,
      pendingReason: 'retrying in 2s after attempt 2 failed: boom',
    });
  });

  it('fails for good at maxAttempts or when not retryable', () => {
    const err = { message: 'boom', code: 'X', retryable: true };
    expect(
      completionChange(
        row({ attempt: 3 }),
        completion({ attempt: 3, outcome: 'failed', error: err }),
        backoff,
      ),
    ).toMatchObject({
      to: 'FAILED',
      finished: 'now',
      error: err,
    });
    expect(
      completionChange(
        row(),
        completion({ outcome: 'failed', error: { ...err, retryable: false } }),
        backoff,
      ).to,
    ).toBe('FAILED');
  });

  it('records the RUNNING step of a run that ran and ended before it reported its start', () => {
    const scheduled = row({ status: 'SCHEDULED' });
    const step = { started: true, startStep: { reason: 'started on w1' } };
    expect(completionChange(scheduled, completion({ result: 7 }), backoff)).toMatchObject({
      from: 'SCHEDULED',
      to: 'COMPLETED',
      ...step,
    });
    const failed = completion({
      outcome: 'failed',
      error: { message: 'x', code: 'X', retryable: true },
    });
    expect(completionChange(scheduled, failed, backoff)).toMatchObject({ to: 'PENDING', ...step });
    // A run that reported its start, or one that did not run, has no step to record.
    expect(completionChange(row(), completion({}), backoff).startStep).toBeUndefined();
    expect(
      completionChange(scheduled, completion({ outcome: 'released' }), backoff).startStep,
    ).toBeUndefined();
    expect(
      completionChange(scheduled, completion({ outcome: 'cancelled' }), backoff).startStep,
    ).toBeUndefined();
  });

  it('maps the other outcomes', () => {
    expect(completionChange(row(), completion({ result: 7 }), backoff)).toMatchObject({
      to: 'COMPLETED',
      result: 7,
      progress: { fraction: 1 },
    });
    expect(completionChange(row(), completion({ outcome: 'cancelled' }), backoff).to).toBe(
      'CANCELLED',
    );
    expect(completionChange(row(), completion({ outcome: 'paused' }), backoff).to).toBe('PAUSED');
    expect(completionChange(row(), completion({ outcome: 'released' }), backoff)).toMatchObject({
      to: 'PENDING',
      runAfterMs: null,
    });
  });
});

describe('decideCommand', () => {
  it('cancels PENDING and PAUSED at once, SCHEDULED at once with a stop, RUNNING through the worker', () => {
    expect(decideCommand(row({ status: 'PENDING', worker_id: null }), 'cancel')).toEqual({
      change: expect.objectContaining({ to: 'CANCELLED' }),
    });
    expect(decideCommand(row({ status: 'PAUSED', worker_id: null }), 'cancel').change?.to).toBe(
      'CANCELLED',
    );
    expect(decideCommand(row({ status: 'SCHEDULED' }), 'cancel')).toEqual({
      change: expect.objectContaining({ to: 'CANCELLED' }),
      control: { workerId: 'w1', action: 'stop', attempt: 2 },
    });
    expect(decideCommand(row(), 'cancel')).toEqual({
      control: { workerId: 'w1', action: 'stop', attempt: 2 },
      request: 'cancel',
    });
    expect(decideCommand(row({ status: 'COMPLETED' }), 'cancel').ignored).toMatch(/COMPLETED/);
  });

  it('pauses, resumes and retries', () => {
    expect(decideCommand(row(), 'pause')).toEqual({
      control: { workerId: 'w1', action: 'pause', attempt: 2 },
      request: 'pause',
    });
    // A cancel already asked is not turned into a pause; a pause asked is turned into a cancel.
    expect(decideCommand(row({ requested_action: 'cancel' }), 'pause').ignored).toMatch(
      /being cancelled/,
    );
    expect(decideCommand(row({ requested_action: 'pause' }), 'cancel').request).toBe('cancel');
    expect(decideCommand(row({ status: 'SCHEDULED' }), 'pause')).toMatchObject({
      change: { to: 'PAUSED' },
      control: { action: 'stop' },
    });
    expect(decideCommand(row({ status: 'PAUSED' }), 'resume').change).toMatchObject({
      to: 'PENDING',
      requestedAction: null,
    });
    expect(decideCommand(row({ status: 'FAILED', attempt: 3 }), 'retry').change).toMatchObject({
      to: 'PENDING',
      minMaxAttempts: 4,
      finished: 'clear',
    });
    expect(decideCommand(row(), 'retry').ignored).toMatch(/RUNNING/);
  });
});

describe('a success', () => {
  it("clears an earlier attempt's error and keeps the last progress message", () => {
    const earlier = { message: 'failing on purpose', code: 'SLEEP_FAIL_TIMES', retryable: true };
    const change = completionChange(
      row({ error: earlier, progress: { fraction: 0.8, message: 'step 4/5' } }),
      completion({ outcome: 'succeeded', result: { ok: true } }),
      backoff,
    );
    expect(change).toMatchObject({
      to: 'COMPLETED',
      error: null,
      progress: { fraction: 1, message: 'step 4/5' },
      result: { ok: true },
    });
  });
});

describe('waitingReason', () => {
  it('says a future runAt is what the workload waits for, and nothing for a past one', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(waitingReason('2030-01-01T01:00:00+01:00', now)).toBeNull();
    expect(waitingReason('2030-01-01T02:00:00+01:00', now)).toBe(
      'waiting until runAt 2030-01-01T01:00:00.000Z',
    );
    expect(waitingReason(undefined, now)).toBeNull();
  });
});
