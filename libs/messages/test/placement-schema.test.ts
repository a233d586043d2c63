import { validateHttp, validateMessage } from '@niyanta/messages';

const submit = (extra: Record<string, unknown>) =>
  validateHttp('workloadSubmission', { type: 'sleep', input: {}, ...extra });
const paths = (extra: Record<string, unknown>) => submit(extra).map((e) => e.path);

describe('placement terms in a submission', () => {
  it('accepts every policy', () => {
    expect(
      submit({
        requirements: { gpu: 0.75 },
        labels: { app: 'web' },
        placement: {
          affinity: [
            { key: 'zone', operator: 'In', values: ['eu-1a'] },
            { key: 'disk', operator: 'Exists', weight: 10 },
          ],
          antiAffinity: [{ labels: { app: 'web' }, topologyKey: 'zone', weight: 5 }],
          tolerations: [
            { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' },
          ],
          spread: { topologyKey: 'zone', maxSkew: 1, labels: { app: 'web' } },
          strategy: 'binpack',
          maxCostPerHour: 0.5,
          spot: 'prefer',
        },
      }),
    ).toEqual([]);
  });

  it('names the JSON Pointer of each bad term', () => {
    expect(paths({ requirements: { gpu: 0.3 } })).toContain('/requirements/gpu');
    expect(paths({ requirements: { gpu: 65 } })).toContain('/requirements/gpu');
    expect(paths({ placement: { affinity: [{ key: 'zone', operator: 'Near' }] } })).toContain(
      '/placement/affinity/0/operator',
    );
    expect(paths({ placement: { affinity: [{ key: 'zone', operator: 'In' }] } })).toContain(
      '/placement/affinity/0/values',
    );
    expect(
      paths({ placement: { affinity: [{ key: 'zone', operator: 'Exists', weight: 101 }] } }),
    ).toContain('/placement/affinity/0/weight');
    const many = Array.from({ length: 21 }, () => ({ key: 'a', operator: 'Exists' }));
    expect(paths({ placement: { affinity: many } })).toContain('/placement/affinity');
    expect(
      paths({ placement: { tolerations: [{ key: 'bad key', operator: 'Exists' }] } }),
    ).toContain('/placement/tolerations/0/key');
    expect(
      paths({ placement: { spread: { topologyKey: 'rack', maxSkew: 0, labels: {} } } }),
    ).toEqual(
      expect.arrayContaining([
        '/placement/spread/topologyKey',
        '/placement/spread/maxSkew',
        '/placement/spread/labels',
      ]),
    );
    expect(paths({ placement: { spot: 'never' } })).toContain('/placement/spot');
  });

  it('carries taints, cost and spot in a heartbeat', () => {
    const hb = {
      schemaVersion: 1,
      id: '01900000-0000-7000-8000-000000000001',
      time: '2026-01-01T00:00:00Z',
      workerId: 'w1',
      status: 'ACTIVE',
      capacity: { slots: 1, cpu: 1, memoryMb: 1, gpu: 0 },
      labels: {},
      types: ['sleep'],
      running: [],
      startedAt: '2026-01-01T00:00:00Z',
      intervalMs: 1000,
      taints: [{ key: 'gpu', effect: 'NoSchedule' }],
      costPerHour: 0.2,
      spot: true,
    };
    expect(validateMessage('heartbeat', hb)).toEqual([]);
    expect(
      validateMessage('heartbeat', { ...hb, taints: [{ key: 'gpu', effect: 'NoExecute' }] }).map(
        (e) => e.path,
      ),
    ).toContain('/taints/0/effect');
  });
});
