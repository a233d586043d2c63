import type { WorkloadV1 } from '@niyanta/messages';
import { h } from '../dom.js';

/** Neighbours drawn per side; the rest are counted. */
export const GRAPH_NODES_PER_SIDE = 20;

const SVG = 'http://www.w3.org/2000/svg';
const NODE_W = 220;
const NODE_H = 36;
const GAP_Y = 12;
const COLUMN_GAP = 90;
const FILL: Record<string, string> = {
  COMPLETED: '#dafbe1',
  FAILED: '#ffebe9',
  CANCELLED: '#fff8c5',
  PAUSED: '#fff8c5',
  RUNNING: '#ddf4ff',
  SCHEDULED: '#ddf4ff',
};

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  ...children: (SVGElement | string)[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** What the drawing knows of a workload: its id and, once read, its type and status. */
export interface GraphNode {
  id: string;
  type?: string;
  status?: string;
}

function node(n: GraphNode, x: number, y: number, current: boolean): SVGElement {
  const label = `${n.type ?? 'workload'} · …${n.id.slice(-8)}${n.status ? ` · ${n.status}` : ''}`;
  const box = svg(
    'g',
    { 'data-node': n.id, ...(n.status ? { 'data-status': n.status } : {}) },
    svg('title', {}, `${n.type ?? 'workload'} ${n.id}${n.status ? ` (${n.status})` : ''}`),
    svg('rect', {
      x,
      y,
      width: NODE_W,
      height: NODE_H,
      rx: 6,
      fill: FILL[n.status ?? ''] ?? '#eaeef2',
      stroke: current ? '#1f4e79' : '#d0d7de',
      'stroke-width': current ? 3 : 1,
    }),
    svg('text', { x: x + 10, y: y + NODE_H / 2 + 4, 'font-size': 12 }, label),
  );
  if (current) return box;
  const link = svg('a', { href: `#/workloads/${n.id}` }, box);
  return link;
}

/**
 * The workload's dependencies (left), itself (middle) and its dependents (right), with arrows
 * from each dependency to it and from it to each dependent; each neighbour links to its page.
 */
export function dependencyGraph(w: WorkloadV1, known: ReadonlyMap<string, GraphNode>): HTMLElement {
  const left = (w.dependsOn ?? []).slice(0, GRAPH_NODES_PER_SIDE);
  const right = (w.dependents ?? []).slice(0, GRAPH_NODES_PER_SIDE);
  const rows = Math.max(left.length, right.length, 1);
  const height = rows * (NODE_H + GAP_Y) + GAP_Y;
  const width = 3 * NODE_W + 2 * COLUMN_GAP + 20;
  const yOf = (i: number, count: number) =>
    GAP_Y + i * (NODE_H + GAP_Y) + ((rows - count) * (NODE_H + GAP_Y)) / 2;
  const midX = 10 + NODE_W + COLUMN_GAP;
  const midY = yOf(0, 1);
  const rightX = midX + NODE_W + COLUMN_GAP;
  const drawing = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `Dependency graph: ${w.dependsOn?.length ?? 0} dependencies, ${w.dependents?.length ?? 0} dependents`,
    class: 'dep-graph',
  });
  drawing.append(
    svg(
      'defs',
      {},
      svg(
        'marker',
        {
          id: 'arrow',
          viewBox: '0 0 10 10',
          refX: 10,
          refY: 5,
          markerWidth: 8,
          markerHeight: 8,
          orient: 'auto',
        },
        svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#57606a' }),
      ),
    ),
  );
  const edge = (x1: number, y1: number, x2: number, y2: number) =>
    svg('line', {
      x1,
      y1,
      x2,
      y2,
      stroke: '#57606a',
      'marker-end': 'url(#arrow)',
      class: 'dep-edge',
    });
  left.forEach((id, i) => {
    const y = yOf(i, left.length);
    drawing.append(edge(10 + NODE_W, y + NODE_H / 2, midX, midY + NODE_H / 2));
    drawing.append(node(known.get(id) ?? { id }, 10, y, false));
  });
  right.forEach((id, i) => {
    const y = yOf(i, right.length);
    drawing.append(edge(midX + NODE_W, midY + NODE_H / 2, rightX, y + NODE_H / 2));
    drawing.append(node(known.get(id) ?? { id }, rightX, y, false));
  });
  drawing.append(node({ id: w.id, type: w.type, status: w.status }, midX, midY, true));
  const more = (n: number, what: string) =>
    n > GRAPH_NODES_PER_SIDE
      ? h('p', { class: 'muted' }, `and ${n - GRAPH_NODES_PER_SIDE} more ${what}`)
      : null;
  return h(
    'div',
    { class: 'scroll', id: 'dependency-graph' },
    drawing,
    more(w.dependsOn?.length ?? 0, 'dependencies'),
    more(w.dependents?.length ?? 0, 'dependents'),
  );
}
