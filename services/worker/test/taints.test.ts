import { loadConfig } from '../src/config.js';
import { parseTaints } from '../src/taints.js';

describe('WORKER_TAINTS', () => {
  it('parses key=value:Effect and key:Effect', () => {
    const problems: string[] = [];
    expect(parseTaints('gpu=true:NoSchedule, spot:PreferNoSchedule', problems)).toEqual([
      { key: 'gpu', value: 'true', effect: 'NoSchedule' },
      { key: 'spot', effect: 'PreferNoSchedule' },
    ]);
    expect(problems).toEqual([]);
  });

  it('names a bad effect and a bad key', () => {
    const problems: string[] = [];
    parseTaints('gpu=true:NoExecute,-x:NoSchedule', problems);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/WORKER_TAINTS has "gpu=true:NoExecute" with effect "NoExecute"/);
    expect(problems[1]).toMatch(/WORKER_TAINTS has "-x:NoSchedule"/);
  });

  it('fails start-up on a bad value and carries cost and spot', () => {
    const env = { NATS_URL: 'nats://127.0.0.1:4222', WORKER_TAINTS: 'a' };
    expect(() => loadConfig(env)).toThrow(/WORKER_TAINTS/);
    expect(() => loadConfig({ ...env, WORKER_TAINTS: '', WORKER_COST_PER_HOUR: 'x' })).toThrow(
      /WORKER_COST_PER_HOUR/,
    );
    const config = loadConfig({
      ...env,
      WORKER_TAINTS: 'tier=batch:NoSchedule',
      WORKER_COST_PER_HOUR: '0.42',
      WORKER_SPOT: 'true',
    });
    expect(config.taints).toEqual([{ key: 'tier', value: 'batch', effect: 'NoSchedule' }]);
    expect(config.costPerHour).toBe(0.42);
    expect(config.spot).toBe(true);
  });
});
