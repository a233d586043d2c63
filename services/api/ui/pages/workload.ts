import type { WorkloadV1 } from '@niyanta/messages';
import type { WorkloadEvent } from '../api.js';
import { append, h, replace } from '../dom.js';
import { age, labelsText, percent, time } from '../format.js';
import { can } from '../roles.js';
import { every } from '../view.js';
import type { View } from '../view.js';
import { statusBadge } from './workloads.js';
import { placementPanel } from './placement-panel.js';
import { GRAPH_NODES_PER_SIDE, dependencyGraph } from './dependency-graph.js';
import type { GraphNode } from './dependency-graph.js';

const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
/** Which commands a status allows, as the API rules them (409 otherwise). */
const COMMANDS = [
  { name: 'cancel', label: 'Cancel', allowed: (s: string) => !ENDED.has(s) },
  {
    name: 'pause',
    label: 'Pause',
    allowed: (s: string) =>
      s === 'PENDING' || s === 'SCHEDULED' || s === 'RUNNING' || s === 'WAITING',
  },
  { name: 'resume', label: 'Resume', allowed: (s: string) => s === 'PAUSED' },
] as const;
/** A re-read of the workload besides the live events, in case a connection misses one. */
const FALLBACK_REFRESH_MS = 3000;
/** Lines the live log keeps on the page. */
const MAX_LOG_LINES = 1000;

const json = (value: unknown) => JSON.stringify(value, null, 2);

const workloadLink = (id: string, text = id) =>
  h('a', { href: `#/workloads/${id}`, class: 'mono' }, text);

/** The children a workload spawned: counts per status, then the first 100, linked. */
const childrenNode = (c: NonNullable<WorkloadV1['children']>): Node =>
  h(
    'div',
    {},
    `${c.total} — ${Object.entries(c.counts)
      .map(([status, n]) => `${n} ${status}`)
      .join(', ')}`,
    h(
      'div',
      { class: 'children' },
      ...c.items.flatMap((child) => [workloadLink(child.id, `#${child.index}`), ' ']),
    ),
  );

/** A durable wait in words: `signal "approve" (until …)`, `sleep until …`. */
const waitingText = (w: NonNullable<WorkloadV1['waitingFor']>): string =>
  [
    w.kind === 'signal' ? `signal "${w.signal ?? ''}"` : w.kind,
    w.until === undefined
      ? ''
      : `${w.kind === 'sleep' ? 'until' : 'times out at'} ${time(w.until)}`,
  ]
    .filter(Boolean)
    .join(' ');

/** One workload: fields, live progress and logs, timeline, checkpoints, placement, commands. */
export function workloadPage(view: View, id: string): void {
  const title = h('h1', {}, 'Workload ', h('span', { class: 'mono' }, id));
  const actions = h('div', { class: 'actions', role: 'group', 'aria-label': 'Commands' });
  const fields = h('dl', { class: 'fields' });
  const progress = h('progress', {
    id: 'progress',
    max: 1,
    value: 0,
    'aria-describedby': 'progress-text',
  });
  const progressText = h('span', { id: 'progress-text' }, '—');
  const timeline = h('ol', { class: 'timeline', 'aria-label': 'Timeline' });
  const logs = h('pre', {
    class: 'logs',
    role: 'log',
    'aria-live': 'polite',
    'aria-label': 'Logs',
    tabindex: '0',
  });
  const checkpoints = h('tbody');
  const placement = h('div', { class: 'placement' }, 'Loading…');
  const graph = h(
    'div',
    { class: 'graph' },
    h('p', { class: 'muted' }, 'None: it depends on no workload, and none on it.'),
  );
  replace(
    view.main,
    h('p', {}, h('a', { href: '#/workloads' }, '← Workloads')),
    title,
    actions,
    h(
      'section',
      { 'aria-labelledby': 'h-progress' },
      h('h2', { id: 'h-progress' }, 'Progress'),
      h(
        'div',
        { class: 'bar' },
        h('label', { for: 'progress', class: 'bar-label' }, 'Progress'),
        progress,
        progressText,
      ),
    ),
    h('section', { 'aria-labelledby': 'h-fields' }, h('h2', { id: 'h-fields' }, 'Fields'), fields),
    h(
      'section',
      { 'aria-labelledby': 'h-timeline' },
      h('h2', { id: 'h-timeline' }, 'Timeline'),
      timeline,
    ),
    h(
      'section',
      { 'aria-labelledby': 'h-dependencies' },
      h('h2', { id: 'h-dependencies' }, 'Dependencies'),
      graph,
    ),
    h('section', { 'aria-labelledby': 'h-logs' }, h('h2', { id: 'h-logs' }, 'Logs'), logs),
    h(
      'section',
      { 'aria-labelledby': 'h-checkpoints' },
      h('h2', { id: 'h-checkpoints' }, 'Checkpoints'),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Attempt', 'Seq', 'Size', 'Storage', 'Created'].map((t) =>
                h('th', { scope: 'col' }, t),
              ),
            ),
          ),
          checkpoints,
        ),
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'h-placement' },
      h('h2', { id: 'h-placement' }, 'Placement'),
      placement,
    ),
  );

  let current: WorkloadV1 | undefined;
  let logCount = 0;
  const addLog = (at: string, stream: string, line: string) => {
    append(logs, [
      h(
        'span',
        { class: `log-${stream}` },
        `${new Date(at).toLocaleTimeString()} [${stream}] ${line}\n`,
      ),
    ]);
    logCount++;
    if (logCount > MAX_LOG_LINES) {
      logs.firstChild?.remove();
      logCount--;
    }
    logs.scrollTop = logs.scrollHeight;
  };

  const showProgress = (fraction: number, message?: string | null) => {
    progress.value = fraction;
    progressText.textContent = `${percent(fraction)}${message ? ` · ${message}` : ''}`;
  };

  const showActions = (w: WorkloadV1) => {
    if (!can.operate(view.me)) {
      replace(actions);
      return;
    }
    replace(
      actions,
      COMMANDS.filter((c) => c.allowed(w.status)).map((c) =>
        h(
          'button',
          {
            type: 'button',
            'data-command': c.name,
            onclick: (e: Event) => {
              const button = e.currentTarget as HTMLButtonElement;
              button.disabled = true;
              view.api[c.name](w.id).then(
                (updated) => {
                  view.announce(`${c.label}: the workload is ${updated.status}`);
                  show(updated);
                },
                (err: unknown) => {
                  button.disabled = false;
                  view.announce(`${c.label} failed: ${(err as Error).message}`);
                },
              );
            },
          },
          c.label,
        ),
      ),
    );
  };

  const show = (w: WorkloadV1) => {
    const statusChanged = current?.status !== w.status;
    current = w;
    replace(title, 'Workload ', h('span', { class: 'mono' }, w.id), ' ', statusBadge(w.status));
    const item = (name: string, value: Node | string | number) => [
      h('dt', {}, name),
      h('dd', {}, value),
    ];
    replace(
      fields,
      item('Status', statusBadge(w.status)),
      item('Type', w.type),
      item('Priority', w.priority),
      item('Attempt', `${w.attempt} of ${w.maxAttempts}`),
      item('Worker', w.workerId ?? '—'),
      item('Labels', labelsText(w.labels)),
      item('Created', `${time(w.createdAt)} (${age(w.createdAt)} ago)`),
      item('Started', time(w.startedAt)),
      item('Finished', time(w.finishedAt ?? null)),
      w.pendingReason ? item('Waiting because', w.pendingReason) : [],
      w.waitingFor ? item('Waiting for', waitingText(w.waitingFor)) : [],
      w.parentId ? item(w.detached ? 'Parent (detached)' : 'Parent', workloadLink(w.parentId)) : [],
      w.children ? item('Children', childrenNode(w.children)) : [],
      item('Input', h('pre', {}, json(w.input))),
      w.result !== null && w.result !== undefined
        ? item('Result', h('pre', {}, json(w.result)))
        : [],
      w.error ? item('Error', h('pre', { class: 'error' }, json(w.error))) : [],
    );
    const fraction = w.progress?.fraction ?? (w.status === 'COMPLETED' ? 1 : 0);
    showProgress(fraction, w.progress?.message);
    // Status events carry no graph: only a read of the workload (which has `dependsOn` or
    // `dependents` when it is in one) redraws it.
    if (
      (w.dependsOn !== undefined || w.dependents !== undefined) &&
      (statusChanged || graphShown !== graphKey(w))
    )
      void refreshGraph(w);
    if (statusChanged) {
      showActions(w);
      void refreshTimeline();
      void refreshCheckpoints();
    }
  };

  let graphShown = '';
  const graphKey = (w: WorkloadV1) =>
    `${w.status}|${(w.dependsOn ?? []).join()}|${(w.dependents ?? []).join()}`;
  const refreshGraph = async (w: WorkloadV1) => {
    graphShown = graphKey(w);
    const ids = [
      ...(w.dependsOn ?? []).slice(0, GRAPH_NODES_PER_SIDE),
      ...(w.dependents ?? []).slice(0, GRAPH_NODES_PER_SIDE),
    ];
    if (ids.length === 0) {
      replace(
        graph,
        h('p', { class: 'muted' }, 'None: it depends on no workload, and none on it.'),
      );
      return;
    }
    const known = new Map<string, GraphNode>();
    const read = await Promise.allSettled(ids.map((n) => view.api.get(n)));
    for (const r of read)
      if (r.status === 'fulfilled')
        known.set(r.value.id, { id: r.value.id, type: r.value.type, status: r.value.status });
    replace(graph, dependencyGraph(w, known));
  };

  const refreshTimeline = async () => {
    const { items } = await view.api.history(id);
    replace(
      timeline,
      items.map((e) =>
        h(
          'li',
          {},
          h('time', { datetime: e.at }, time(e.at)),
          ' ',
          e.fromStatus ? `${e.fromStatus} → ` : '',
          statusBadge(e.toStatus),
          ` attempt ${e.attempt}`,
          e.workerId ? ` on ${e.workerId}` : '',
          e.reason ? h('span', { class: 'reason' }, ` — ${e.reason}`) : '',
        ),
      ),
    );
  };

  const refreshCheckpoints = async () => {
    const items = await view.api.checkpoints(id);
    replace(
      checkpoints,
      items.length === 0
        ? h('tr', {}, h('td', { colspan: 5 }, 'None.'))
        : items.map((c) =>
            h(
              'tr',
              {},
              h('td', {}, c.attempt),
              h('td', {}, c.seq),
              h('td', {}, `${c.size} B`),
              h('td', {}, c.storage),
              h('td', {}, time(c.createdAt)),
            ),
          ),
    );
  };

  const onEvent = (e: WorkloadEvent) => {
    if (e.type === 'status') show(e.workload);
    else if (e.type === 'progress') showProgress(e.fraction, e.message);
    else addLog(e.at, e.stream, e.line);
  };

  const start = async () => {
    show(await view.api.get(id));
    for (const l of await view.api.logs(id)) addLog(l.at, l.stream, l.line);
    const explanation = await view.api.placement(id);
    replace(
      placement,
      explanation === undefined
        ? h('p', { class: 'muted' }, 'Not available: this API does not explain placement yet.')
        : placementPanel(explanation),
    );
    every(view, FALLBACK_REFRESH_MS, async () => {
      if (current && !ENDED.has(current.status)) show(await view.api.get(id));
    });
    await view.api.events(id, view.signal, onEvent);
  };
  start().catch((err: unknown) => {
    if (!view.signal.aborted)
      view.announce(`Could not load the workload: ${(err as Error).message}`);
  });
}
