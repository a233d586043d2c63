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
