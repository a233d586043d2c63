import { waitFor } from '@niyanta/testing';
import { createLogger, every } from '../src/index.js';

function recordingLogger() {
  const log = createLogger('periodic-test', 'silent');
  const error = jest.spyOn(log, 'error');
  return { log, error };
}

describe('every', () => {
  it('logs a task that rejects and runs it again next interval', async () => {
    const { log, error } = recordingLogger();
    let runs = 0;
    const task = every({
      name: 'rejecting',
      intervalMs: 5,
      firstDelayMs: 0,
      log,
      task: async () => {
        runs += 1;
        throw new Error(`run ${runs} failed`);
      },
    });
    try {
      await waitFor(() => runs >= 3, { message: 'three runs' });
    } finally {
      await task.stop();
    }
    expect(error.mock.calls[0]).toEqual([
      { err: expect.objectContaining({ message: 'run 1 failed' }), task: 'rejecting' },
      'periodic task failed; trying again next interval',
    ]);
  });

  it('logs a task that throws before returning its promise and runs it again next interval', async () => {
    const { log, error } = recordingLogger();
    let runs = 0;
    const task = every({
      name: 'throwing',
      intervalMs: 5,
      firstDelayMs: 0,
      log,
      // Not async: it throws synchronously, inside the timer's callback.
      task: () => {
        runs += 1;
        if (runs < 3) throw new Error(`run ${runs} threw`);
        return Promise.resolve();
      },
    });
    try {
      await waitFor(() => runs >= 4, { message: 'four runs' });
    } finally {
      await task.stop();
    }
    expect(error).toHaveBeenCalledTimes(2);
    expect(error.mock.calls[1]![0]).toMatchObject({
      err: expect.objectContaining({ message: 'run 2 threw' }),
      task: 'throwing',
    });
  });
});
