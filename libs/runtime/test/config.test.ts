import {
  COMMON_SETTINGS,
  CONSUMER_SETTINGS,
  ConfigError,
  DATABASE_SETTING,
  STREAM_SETTINGS,
  parseConfig,
  streamLimits,
} from '@niyanta/runtime';

const spec = {
  ...COMMON_SETTINGS,
  ...DATABASE_SETTING,
  PORT: { kind: 'int', default: 8080, min: 0, max: 65535 },
} as const;

describe('parseConfig', () => {
  it('applies defaults', () => {
    const c = parseConfig(spec, { DATABASE_URL: 'postgres://x@h/db' });
    expect(c).toMatchObject({ NATS_URL: 'nats://127.0.0.1:4222', LOG_LEVEL: 'info', PORT: 8080 });
    expect(c.HEALTH_PORT).toBeUndefined();
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      parseConfig(spec, { NATS_URL: 'nats//x', PORT: 'abc', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('NATS_URL is not a URL: "nats//x". Expected nats://host:4222.');
    expect(problems).toContain('PORT is not an integer: "abc".');
    expect(problems).toContain('LOG_LEVEL is "loud"');
    expect(problems).toContain('DATABASE_URL is required');
  });

  it('refuses a wrong scheme and out-of-range numbers', () => {
    expect(() => parseConfig(spec, { DATABASE_URL: 'mysql://x/y' })).toThrow(
      /DATABASE_URL has scheme "mysql:"/,
    );
    expect(() => parseConfig(spec, { DATABASE_URL: 'postgres://x/y', PORT: '70000' })).toThrow(
      /above the maximum 65535/,
    );
  });

  it('reads MAX_DELIVER of the consuming services: 5 by default, an integer of at least 1', () => {
    expect(parseConfig(CONSUMER_SETTINGS, {}).MAX_DELIVER).toBe(5);
    expect(parseConfig(CONSUMER_SETTINGS, { MAX_DELIVER: '2' }).MAX_DELIVER).toBe(2);
    expect(() => parseConfig(CONSUMER_SETTINGS, { MAX_DELIVER: '0' })).toThrow(
      'MAX_DELIVER is 0, below the minimum 1.',
    );
    expect(() => parseConfig(CONSUMER_SETTINGS, { MAX_DELIVER: '2.5' })).toThrow(
      'MAX_DELIVER is not an integer: "2.5".',
    );
  });

  it('reads NATS_STREAM_REPLICAS: one copy unless set, 1 to 5', () => {
    expect(streamLimits(parseConfig(STREAM_SETTINGS, {})).replicas).toBeUndefined();
    expect(streamLimits(parseConfig(STREAM_SETTINGS, { NATS_STREAM_REPLICAS: '3' })).replicas).toBe(
      3,
    );
    expect(() => parseConfig(STREAM_SETTINGS, { NATS_STREAM_REPLICAS: '6' })).toThrow(
      'NATS_STREAM_REPLICAS is 6, above the maximum 5.',
    );
    expect(() => parseConfig(STREAM_SETTINGS, { NATS_STREAM_REPLICAS: 'three' })).toThrow(
      'NATS_STREAM_REPLICAS is not an integer: "three".',
    );
  });
});
