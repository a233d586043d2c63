import { formatSeconds, retryBackoffMs } from '../src/workload-core/decisions/backoff.js';

describe('retryBackoffMs', () => {
  it('doubles from the base per attempt, within [cap/2, cap]', () => {
    expect(retryBackoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(retryBackoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(retryBackoffMs(3, 1000, 60_000, () => 1)).toBe(4000);
    expect(retryBackoffMs(3, 1000, 60_000, () => 0.5)).toBe(3000);
  });

  it('never exceeds the maximum', () => {
    expect(retryBackoffMs(30, 1000, 60_000, () => 1)).toBe(60_000);
    for (let i = 0; i < 100; i++) expect(retryBackoffMs(10, 1000, 5000)).toBeLessThanOrEqual(5000);
  });

  it('formats seconds for pending reasons', () => {
    expect(formatSeconds(1500)).toBe('1.5s');
    expect(formatSeconds(42_400)).toBe('42s');
  });
});
