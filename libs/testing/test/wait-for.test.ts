import { WaitTimeoutError, waitFor } from '@niyanta/testing';

describe('waitFor', () => {
  it('returns the first truthy value of the check', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { intervalMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it('treats a throwing check as not yet', async () => {
    let calls = 0;
    const value = await waitFor(
      () => {
        calls += 1;
        if (calls < 3) throw new Error('not ready');
        return 'ready';
      },
      { intervalMs: 1 },
    );
    expect(value).toBe('ready');
  });

  it('times out naming the message, the timeout and the last error', async () => {
    const started = Date.now();
    const failure = waitFor(
      () => {
        throw new Error('connection refused');
      },
      { timeoutMs: 100, intervalMs: 10, message: 'the broker to answer' },
    );
    await expect(failure).rejects.toThrow(WaitTimeoutError);
    await expect(failure).rejects.toThrow(
      'Timed out after 100 ms waiting for the broker to answer. Last error: connection refused',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });

  it('does not wait past the deadline for a check that hangs', async () => {
    const started = Date.now();
    await expect(
      waitFor(() => new Promise<boolean>(() => undefined), { timeoutMs: 100 }),
    ).rejects.toThrow('Timed out after 100 ms');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
