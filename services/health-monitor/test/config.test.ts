import { ConfigError } from '@niyanta/runtime';
import { loadConfig, timeoutProblem } from '../src/config.js';

const DATABASE_URL = 'postgres://niyanta@localhost:5432/niyanta';

describe('heartbeat timeout rule', () => {
  it('accepts a timeout of exactly three intervals or more', () => {
    expect(timeoutProblem(2_000, 6_000)).toBeUndefined();
    expect(timeoutProblem(2_000, 10_000)).toBeUndefined();
  });

  it('refuses a timeout below three intervals, naming both values and the rule', () => {
    const problem = timeoutProblem(2_000, 5_999);
    expect(problem).toContain('HEARTBEAT_TIMEOUT_MS (5999)');
    expect(problem).toContain('HEARTBEAT_INTERVAL_MS (2000)');
    expect(problem).toContain('3 × HEARTBEAT_INTERVAL_MS');
    expect(problem).toContain('at least 6000');
  });
});

describe('loadConfig', () => {
  it('applies the defaults', () => {
    const config = loadConfig({ DATABASE_URL });
    expect(config).toMatchObject({
      HEARTBEAT_INTERVAL_MS: 2_000,
      HEARTBEAT_TIMEOUT_MS: 10_000,
      DEAD_WORKER_RETENTION_HOURS: 24,
      DATABASE_URL,
    });
  });

  it('refuses a timeout below three intervals', () => {
    let error: unknown;
    try {
      loadConfig({ DATABASE_URL, HEARTBEAT_INTERVAL_MS: '1000', HEARTBEAT_TIMEOUT_MS: '2500' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(
        /HEARTBEAT_TIMEOUT_MS \(2500\) is below 3 × HEARTBEAT_INTERVAL_MS \(1000\)/,
      ),
    ]);
  });

  it('names every malformed variable', () => {
    expect(() => loadConfig({ HEARTBEAT_INTERVAL_MS: 'soon' })).toThrow(
      /DATABASE_URL is required[\s\S]*HEARTBEAT_INTERVAL_MS is not an integer: "soon"/,
    );
  });
});
