import type { PlacementExplanation } from '@niyanta/client';
import { formatPlacement } from '../src/placement-view.js';

const NOW = Date.parse('2026-12-06T12:00:30Z');

const pending: PlacementExplanation = {
  status: 'PENDING',
  pendingReason: 'no worker has 4 free cpu',
  evaluatedAt: '2026-12-06T12:00:00Z',
  workers: [
    {
      workerId: 'w-small',
      feasible: false,
      reasons: ['insufficient cpu: needs 4, free 2', 'missing label gpu=a100'],
      score: null,
      scores: {},
    },
    {
      workerId: 'w-big',
      feasible: true,
      reasons: [],
      score: 0.8234,
      scores: { binpack: 0.5, spread: 0.3234 },
    },
  ],
  reasonCounts: { 'insufficient cpu': 1, 'missing label': 3 },
};

describe('formatPlacement', () => {
  it('shows why a PENDING workload waits, then every worker, feasible and best first', () => {
    expect(formatPlacement(pending, { now: NOW })).toBe(
      [
        'Status     PENDING',
        'Waiting    no worker has 4 free cpu',
        'Evaluated  2026-12-06T12:00:00Z (30s ago)',
        'Refused by',
        '     3 workers  missing label',
        '     1 worker   insufficient cpu',
        '',
        'WORKER   FEASIBLE  SCORE  SCORES                    WHY NOT',
        'w-big    yes       0.823  binpack=0.5 spread=0.323  -',
        'w-small  no        -      -                         insufficient cpu: needs 4, free 2; missing label gpu=a100',
        '',
      ].join('\n'),
    );
  });

  it('fits the worker table to the terminal width', () => {
    const out = formatPlacement(pending, { now: NOW, width: 60 });
    for (const line of out.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(60);
    expect(out).toContain('w-small  no');
  });

  it('shows where a placed workload went and its scores', () => {
    const placed: PlacementExplanation = {
      status: 'RUNNING',
      workerId: 'w-big',
      score: 0.9,
      scores: { binpack: 0.6, cost: 0.3 },
    };
    expect(formatPlacement(placed)).toBe(
      'Status     RUNNING\nPlaced on  w-big (score 0.9: binpack=0.6 cost=0.3)\n',
    );
  });

  it('says so when no worker was judged', () => {
    expect(formatPlacement({ status: 'PENDING', workers: [] })).toContain('no worker was judged');
  });
});
