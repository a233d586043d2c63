import { ENV_PREFIXES, HOSTED_SERVICES, serviceEnv } from '../src/hosted-services.js';

describe('serviceEnv', () => {
  const env = {
    NATS_URL: 'nats://127.0.0.1:4222',
    HEALTH_PORT: '9000',
    NATS_USER: 'shared',
    NATS_PASSWORD: 'shared-secret',
    SCHEDULER__NATS_USER: 'scheduler',
    SCHEDULER__NATS_PASSWORD: 'scheduler-secret',
    HEALTH_MONITOR__HEALTH_PORT: '9001',
    CHECKPOINT_KEEP: '3',
  };

  it('gives every service the shared settings', () => {
    for (const service of Object.values(HOSTED_SERVICES)) {
      expect(serviceEnv(env, service)['NATS_URL']).toBe('nats://127.0.0.1:4222');
    }
  });

  it("applies a service's own overrides to it alone", () => {
    expect(serviceEnv(env, 'scheduler')).toMatchObject({
      NATS_USER: 'scheduler',
      NATS_PASSWORD: 'scheduler-secret',
    });
    expect(serviceEnv(env, 'api')).toMatchObject({
      NATS_USER: 'shared',
      NATS_PASSWORD: 'shared-secret',
    });
  });

  it("keeps the process's HEALTH_PORT from the services; an override gives one its own", () => {
    expect(serviceEnv(env, 'api')['HEALTH_PORT']).toBeUndefined();
    expect(serviceEnv(env, 'scheduler')['HEALTH_PORT']).toBeUndefined();
    expect(serviceEnv(env, 'health-monitor')['HEALTH_PORT']).toBe('9001');
  });

  it('passes no override variable through under its prefixed name', () => {
    for (const service of Object.values(HOSTED_SERVICES)) {
      const names = Object.keys(serviceEnv(env, service));
      for (const prefix of Object.values<string>(ENV_PREFIXES)) {
        expect(names.filter((n) => n.startsWith(prefix))).toEqual([]);
      }
    }
  });

  it('leaves settings that only share a word with a prefix alone', () => {
    expect(serviceEnv(env, 'checkpoint')['CHECKPOINT_KEEP']).toBe('3');
    expect(serviceEnv(env, 'checkpoint')['KEEP']).toBeUndefined();
  });
});
