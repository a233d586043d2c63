import type { PlacementExplanation, PlacementWorker } from '@niyanta/client';
import { age, formatTable } from './output.js';
import type { Column } from './output.js';

/** A score as people read it: up to 3 decimals, `-` for none. */
function score(n: number | null | undefined): string {
  return typeof n === 'number' && Number.isFinite(n) ? String(Math.round(n * 1000) / 1000) : '-';
}

function scoreParts(scores: Record<string, number> | undefined): string {
  const parts = Object.entries(scores ?? {}).map(([name, n]) => `${name}=${score(n)}`);
  return parts.length === 0 ? '-' : parts.join(' ');
}

const WORKER_COLUMNS: Column<PlacementWorker>[] = [
  { header: 'WORKER', cell: (w) => w.workerId },
  { header: 'FEASIBLE', cell: (w) => (w.feasible ? 'yes' : 'no') },
  { header: 'SCORE', cell: (w) => score(w.score) },
  { header: 'SCORES', cell: (w) => scoreParts(w.scores), flexible: true },
  {
    header: 'WHY NOT',
    cell: (w) => (w.reasons.length === 0 ? '-' : w.reasons.join('; ')),
    flexible: true,
  },
];

/**
 * `niyanta placement <id>` as a person reads it: the status and why it waits (or the worker it
 * went to), then every worker placement judged, best first, fitted to `width`.
 */
export function formatPlacement(
  e: PlacementExplanation,
  opts: { width?: number | undefined; bold?: (s: string) => string; now?: number } = {},
): string {
  const bold = opts.bold ?? ((s: string) => s);
  const lines: string[] = [`${bold('Status')}     ${e.status}`];
  if (e.workerId) {
    const parts = scoreParts(e.scores);
    const detail = [
      e.score === undefined || e.score === null ? '' : `score ${score(e.score)}`,
      parts === '-' ? '' : parts,
    ]
      .filter((d) => d !== '')
      .join(': ');
    lines.push(`${bold('Placed on')}  ${e.workerId}${detail === '' ? '' : ` (${detail})`}`);
  }
  if (e.pendingReason) lines.push(`${bold('Waiting')}    ${e.pendingReason}`);
  if (e.evaluatedAt)
    lines.push(`${bold('Evaluated')}  ${e.evaluatedAt} (${age(e.evaluatedAt, opts.now)} ago)`);
  const counts = Object.entries(e.reasonCounts ?? {}).sort((a, b) => b[1] - a[1]);
  if (counts.length > 0) {
    lines.push(bold('Refused by'));
    for (const [reason, n] of counts)
      lines.push(`  ${String(n).padStart(4)} worker${n === 1 ? ' ' : 's'}  ${reason}`);
  }
  let out = `${lines.join('\n')}\n`;
  const workers = e.workers ?? [];
  if (workers.length > 0) {
    const sorted = [...workers].sort(
      (a, b) => Number(b.feasible) - Number(a.feasible) || (b.score ?? 0) - (a.score ?? 0),
    );
    out += `\n${formatTable(sorted, WORKER_COLUMNS, opts.width, bold)}`;
  } else if (e.workerId === undefined || e.workerId === null) {
    out += '\n(no worker was judged: none is up, or placement has not looked at it yet)\n';
  }
  return out;
}
