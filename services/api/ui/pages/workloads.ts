import type { WorkloadListV1, WorkloadV1 } from '@niyanta/messages';
import { h, replace } from '../dom.js';
import { age, percent } from '../format.js';
import { every } from '../view.js';
import type { View } from '../view.js';

export const STATUSES = [
  'SUBMITTED',
  'PENDING',
  'SCHEDULED',
  'RUNNING',
  'PAUSED',
  'WAITING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
] as const;
const PAGE_SIZE = 25;
const REFRESH_MS = 1500;

export const statusBadge = (status: string) =>
  h('span', { class: `badge s-${status.toLowerCase()}`, 'data-status': status }, status);

const hashOf = (params: URLSearchParams) => {
  const q = params.toString();
  return q ? `#/workloads?${q}` : '#/workloads';
};

function row(w: WorkloadV1): HTMLElement {
  const fraction = w.progress?.fraction ?? (w.status === 'COMPLETED' ? 1 : 0);
  return h(
    'tr',
    { 'data-id': w.id },
    h('td', {}, h('a', { href: `#/workloads/${w.id}`, class: 'mono' }, w.id.slice(-12))),
    h('td', {}, statusBadge(w.status)),
    h('td', {}, w.type),
    h('td', { class: 'num' }, w.priority),
    h(
      'td',
      {},
      h('progress', { max: 1, value: fraction, 'aria-label': `progress ${percent(fraction)}` }),
      ' ',
      percent(w.progress?.fraction),
    ),
    h('td', { title: w.createdAt }, age(w.createdAt)),
    h('td', {}, w.workerId ?? '—'),
  );
}

/** The workloads table with counts, filters, cursor paging and a refresh while it is open. */
export function workloadsPage(view: View): void {
  const { params } = view;
  const counts = h('ul', { class: 'counts', 'aria-label': 'Workloads per status' });
  const statusSelect = h(
    'select',
    { id: 'f-status', name: 'status' },
    h('option', { value: '' }, 'Any'),
    STATUSES.map((s) => h('option', { value: s, selected: params.get('status') === s }, s)),
  );
  const typeInput = h('input', { id: 'f-type', name: 'type', value: params.get('type') ?? '' });
  const labelInput = h('input', {
    id: 'f-label',
    name: 'label',
    placeholder: 'key=value',
    value: params.get('label') ?? '',
  });
  const filters = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Filter workloads',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const next = new URLSearchParams();
        if (statusSelect.value) next.set('status', statusSelect.value);
        if (typeInput.value.trim()) next.set('type', typeInput.value.trim());
        if (labelInput.value.trim()) next.set('label', labelInput.value.trim());
        view.navigate(hashOf(next));
      },
    },
    h('span', { class: 'field' }, h('label', { for: 'f-status' }, 'Status'), statusSelect),
    h('span', { class: 'field' }, h('label', { for: 'f-type' }, 'Type'), typeInput),
    h('span', { class: 'field' }, h('label', { for: 'f-label' }, 'Label'), labelInput),
    h('button', { type: 'submit' }, 'Apply'),
  );
  const body = h('tbody');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' });
  replace(
    view.main,
    h('h1', {}, 'Workloads'),
    counts,
    filters,
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { 'aria-describedby': 'workloads-caption' },
        h('caption', { id: 'workloads-caption' }, 'Newest first; refreshes by itself.'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['ID', 'Status', 'Type', 'Priority', 'Progress', 'Age', 'Worker'].map((t) =>
              h('th', { scope: 'col' }, t),
            ),
          ),
        ),
        body,
      ),
    ),
    pager,
  );

  const renderPage = (page: WorkloadListV1) => {
    replace(
      body,
      page.items.length === 0
        ? h('tr', {}, h('td', { colspan: 7 }, 'No workloads match.'))
        : page.items.map(row),
    );
    const first = new URLSearchParams(params);
    first.delete('cursor');
    const next = new URLSearchParams(params);
    if (page.nextCursor) next.set('cursor', page.nextCursor);
    replace(
      pager,
      params.has('cursor') ? h('a', { href: hashOf(first) }, 'First page') : null,
      page.nextCursor ? h('a', { href: hashOf(next), rel: 'next' }, 'Next page') : null,
    );
  };

  every(view, REFRESH_MS, async () => {
    const [page, c] = await Promise.all([
      view.api.list({
        status: params.get('status') ?? undefined,
        type: params.get('type') ?? undefined,
        label: params.get('label') ?? undefined,
        cursor: params.get('cursor') ?? undefined,
        limit: PAGE_SIZE,
      }),
      view.api.counts(),
    ]);
    if (view.signal.aborted) return;
    renderPage(page);
    replace(
      counts,
      h('li', {}, h('a', { href: '#/workloads' }, 'All ', h('strong', {}, c.total))),
      STATUSES.filter((s) => s !== 'SUBMITTED').map((s) =>
        h(
          'li',
          {},
          h(
            'a',
            {
              href: hashOf(new URLSearchParams({ status: s })),
              class: `s-${s.toLowerCase()}`,
              'data-count': s,
            },
            `${s} `,
            h('strong', {}, c.counts[s] ?? 0),
          ),
        ),
      ),
    );
  });
}
