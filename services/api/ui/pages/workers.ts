import type { WorkerV1, WorkloadV1 } from '@niyanta/messages';
import { bar, h, replace } from '../dom.js';
import { age, labelsText, percent } from '../format.js';
import { every } from '../view.js';
import type { View } from '../view.js';

const REFRESH_MS = 2000;

/** What the runs on a worker request, from those of them this tenant can read. */
function used(runs: (WorkloadV1 | undefined)[]) {
  const sum = { cpu: 0, memoryMb: 0, gpu: 0 };
  for (const w of runs) {
    sum.cpu += w?.requirements.cpu ?? 0;
    sum.memoryMb += w?.requirements.memoryMb ?? 0;
    sum.gpu += w?.requirements.gpu ?? 0;
  }
  return sum;
}

function card(worker: WorkerV1, runs: Map<string, WorkloadV1 | undefined>): HTMLElement {
  const mine = worker.running.map((r) => runs.get(r.workloadId));
  const use = used(mine);
  const { capacity } = worker;
  const slotsUsed = capacity.slots - worker.freeSlots;
  return h(
    'article',
    { class: 'worker', 'aria-labelledby': `w-${worker.id}`, 'data-worker': worker.id },
    h(
      'h2',
      { id: `w-${worker.id}` },
      worker.id,
      ' ',
      h('span', { class: `badge w-${worker.status.toLowerCase()}` }, worker.status),
    ),
    h(
      'dl',
      { class: 'fields' },
      h('dt', {}, 'Zone'),
      h('dd', {}, worker.zone ?? '—'),
      h('dt', {}, 'Labels'),
      h('dd', {}, labelsText(worker.labels)),
      h('dt', {}, 'Types'),
      h('dd', {}, worker.types.join(', ') || '—'),
      h('dt', {}, 'Heartbeat'),
      h('dd', { title: worker.lastHeartbeatAt }, `${age(worker.lastHeartbeatAt)} ago`),
    ),
    bar('Slots', slotsUsed, capacity.slots, `${slotsUsed} / ${capacity.slots}`),
    bar('CPU', use.cpu, capacity.cpu, `${use.cpu} / ${capacity.cpu}`),
    bar('Memory', use.memoryMb, capacity.memoryMb, `${use.memoryMb} / ${capacity.memoryMb} MB`),
    bar('GPU', use.gpu, capacity.gpu, `${use.gpu} / ${capacity.gpu}`),
    h('h3', {}, 'Runs'),
    worker.running.length === 0
      ? h('p', { class: 'muted' }, 'None.')
      : h(
          'ul',
          { class: 'runs' },
          worker.running.map((r) =>
            h(
              'li',
              {},
              runs.get(r.workloadId)
                ? h(
                    'a',
                    { href: `#/workloads/${r.workloadId}`, class: 'mono' },
                    r.workloadId.slice(-12),
                  )
                : h('span', { class: 'mono', title: 'another tenant' }, r.workloadId.slice(-12)),
              ` attempt ${r.attempt} · ${percent(r.fraction)}`,
            ),
          ),
        ),
  );
}

/** Every worker with its capacity, use and runs, refreshed while open. */
export function workersPage(view: View): void {
  const list = h('div', { class: 'workers' });
  replace(view.main, h('h1', {}, 'Workers'), list);
  const runs = new Map<string, WorkloadV1 | undefined>();
  every(view, REFRESH_MS, async () => {
    const items = await view.api.workers();
    const wanted = new Set(items.flatMap((w) => w.running.map((r) => r.workloadId)));
    for (const id of runs.keys()) if (!wanted.has(id)) runs.delete(id);
    // Runs of other tenants answer 404: they count as a slot, their resources stay unknown.
    await Promise.all(
      [...wanted]
        .filter((id) => !runs.has(id))
        .map(async (id) => runs.set(id, await view.api.get(id).catch(() => undefined))),
    );
    if (view.signal.aborted) return;
    replace(
      list,
      items.length === 0
        ? h('p', {}, 'No workers have reported yet.')
        : items.map((w) => card(w, runs)),
    );
  });
}
