import { judge } from '../src/checkpoint-handler.js';

describe('checkpoint fencing by worker', () => {
  const fence = { attempt: 2, status: 'RUNNING', workerId: 'w-b' };

  it("stores the current attempt's checkpoint from the workload's worker", () => {
    expect(judge({ attempt: 2, workerId: 'w-b' }, fence, 1)).toEqual({ action: 'store' });
  });

  it('discards the same attempt number from another worker (a rolled-back placement)', () => {
    expect(judge({ attempt: 2, workerId: 'w-a' }, fence, 1)).toEqual({
      action: 'discard',
      reason: "worker w-a is not the workload's worker w-b",
    });
  });

  it('discards an old attempt from a worker that came back after being declared dead', () => {
    expect(judge({ attempt: 1, workerId: 'w-a' }, fence, 1)).toMatchObject({
      action: 'discard',
      reason: 'attempt 1 is stale: the workload is on attempt 2',
    });
  });

  it('still accepts checkpoints that do not name their worker (older workers)', () => {
    expect(judge({ attempt: 2 }, fence, 1)).toEqual({ action: 'store' });
  });
});

describe('checkpoint fencing around a stop (pause, drain, retryable failure)', () => {
  // The worker sends its stop checkpoint and at once its completion; the scheduler may apply
  // the completion first: same attempt, worker_id cleared.
  it.each(['PAUSED', 'PENDING'])(
    "stores the stopped attempt's checkpoint once the workload is %s with no worker",
    (status) => {
      const fence = { attempt: 2, status, workerId: null };
      expect(judge({ attempt: 2, workerId: 'w-b' }, fence, 1)).toEqual({ action: 'store' });
      expect(judge({ attempt: 2 }, fence, 1)).toEqual({ action: 'store' });
    },
  );

  it.each(['PAUSED', 'PENDING'])(
    'still discards an earlier attempt, or another worker, while %s',
    (status) => {
      expect(
        judge({ attempt: 1, workerId: 'w-b' }, { attempt: 2, status, workerId: null }, 1),
      ).toEqual({ action: 'discard', reason: 'attempt 1 is stale: the workload is on attempt 2' });
      expect(
        judge({ attempt: 2, workerId: 'w-a' }, { attempt: 2, status, workerId: 'w-b' }, 1),
      ).toEqual({ action: 'discard', reason: "worker w-a is not the workload's worker w-b" });
    },
  );

  it.each(['COMPLETED', 'FAILED', 'CANCELLED'])(
    'discards the current attempt once the workload is %s, even from an attempt ahead',
    (status) => {
      const fence = { attempt: 2, status, workerId: null };
      expect(judge({ attempt: 2, workerId: 'w-b' }, fence, 1)).toEqual({
        action: 'discard',
        reason: `the workload is ${status}`,
      });
      expect(judge({ attempt: 3 }, fence, 1)).toEqual({
        action: 'discard',
        reason: `the workload is ${status}`,
      });
    },
  );
});
