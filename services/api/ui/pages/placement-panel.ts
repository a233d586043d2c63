import type { PlacementExplanation, PlacementWorker } from '@niyanta/client';
import { h } from '../dom.js';
import type { Child } from '../dom.js';

const score = (n: number | null | undefined): string =>
  typeof n === 'number' && Number.isFinite(n) ? String(Math.round(n * 1000) / 1000) : '—';

const scoreParts = (scores: Record<string, number> | undefined): string => {
  const parts = Object.entries(scores ?? {}).map(([name, n]) => `${name} ${score(n)}`);
  return parts.length === 0 ? '—' : parts.join(', ');
};

function workerRow(w: PlacementWorker): HTMLElement {
  return h(
    'tr',
    { 'data-worker': w.workerId },
    h('td', { class: 'mono' }, w.workerId),
    h('td', {}, w.feasible ? 'yes' : 'no'),
    h('td', {}, score(w.score)),
    h('td', {}, scoreParts(w.scores)),
    h(
      'td',
      {},
      w.reasons.length === 0
        ? '—'
        : h(
            'ul',
            { class: 'reasons' },
            w.reasons.map((r) => h('li', {}, r)),
          ),
    ),
  );
}

/**
 * The placement explanation of a workload: why it waits (or where it went and why), then every
 * worker placement judged, feasible and best first, with each one's scores or refusals.
 */
export function placementPanel(e: PlacementExplanation): Child[] {
  const facts: [string, string][] = [['Status', e.status]];
  if (e.workerId) {
    const parts = scoreParts(e.scores);
    facts.push([
      'Placed on',
      `${e.workerId}${e.score === undefined || e.score === null ? '' : ` (score ${score(e.score)})`}${parts === '—' ? '' : ` · ${parts}`}`,
    ]);
  }
  if (e.pendingReason) facts.push(['Waiting because', e.pendingReason]);
  if (e.evaluatedAt) facts.push(['Evaluated', new Date(e.evaluatedAt).toLocaleString()]);
  const counts = Object.entries(e.reasonCounts ?? {}).sort((a, b) => b[1] - a[1]);
  if (counts.length > 0)
    facts.push(['Refused by', counts.map(([r, n]) => `${n} × ${r}`).join(', ')]);
  const workers = [...(e.workers ?? [])].sort(
    (a, b) => Number(b.feasible) - Number(a.feasible) || (b.score ?? 0) - (a.score ?? 0),
  );
  return [
    h(
      'dl',
      { class: 'fields', 'data-testid': 'placement-summary' },
      facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    ),
    workers.length === 0
      ? null
      : h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { 'aria-label': 'Workers placement judged' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Worker', 'Feasible', 'Score', 'Scores', 'Why not'].map((t) =>
                  h('th', { scope: 'col' }, t),
                ),
              ),
            ),
            h('tbody', {}, workers.map(workerRow)),
          ),
        ),
  ];
}
