import { ConfigError } from '@niyanta/runtime';
import { loadConfig } from '../src/config.js';

const env = { DATABASE_URL: 'postgres://u@localhost:5432/db' };

describe('loadConfig', () => {
  it('applies the defaults', () => {
    const c = loadConfig(env);
    expect(c).toMatchObject({
      RETRY_BACKOFF_BASE_MS: 1000,
      RETRY_BACKOFF_MAX_MS: 60_000,
      PLACEMENT_SWEEP_MS: 1000,
      HEARTBEAT_TIMEOUT_MS: 10_000,
      INGEST_BATCH_MAX: 500,
      MAX_DELIVER: 5,
      WORKLOAD_RETENTION_DAYS: 30,
    });
    expect(loadConfig({ ...env, WORKLOAD_RETENTION_DAYS: '0' }).WORKLOAD_RETENTION_DAYS).toBe(0);
    expect(() => loadConfig({ ...env, WORKLOAD_RETENTION_DAYS: '-1' })).toThrow(
      /WORKLOAD_RETENTION_DAYS/,
    );
  });

  it('rejects a maximum backoff below the base, naming both', () => {
    expect(() =>
      loadConfig({ ...env, RETRY_BACKOFF_BASE_MS: '5000', RETRY_BACKOFF_MAX_MS: '100' }),
    ).toThrow(/RETRY_BACKOFF_MAX_MS \(100\) is below RETRY_BACKOFF_BASE_MS \(5000\)/);
  });

  it('names every malformed setting', () => {
    try {
      loadConfig({ INGEST_BATCH_MAX: 'many' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.join('\n')).toMatch(
        /DATABASE_URL is required[\s\S]*INGEST_BATCH_MAX is not an integer/,
      );
    }
  });
});
