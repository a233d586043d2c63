import type { WorkloadSubmissionV1 } from '@niyanta/messages';
import type { RequestFieldError } from './errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a `dependsOn` entry can be a workload id (else it must be a ref of the batch). */
export function isWorkloadId(entry: string): boolean {
  return UUID.test(entry);
}

/** A batch's graph, checked: its refs and an order in which dependencies come first. */
export interface BatchGraph {
  /** Index of the item carrying each ref. */
  refs: Map<string, number>;
  /** Item indexes, every item after the items of the batch it depends on. */
  order: number[];
  errors: RequestFieldError[];
}

/**
 * Checks the graph a batch describes with `ref` and `dependsOn`: refs unique, every entry of
 * `dependsOn` a ref of the batch or a workload id (whether that id exists is checked against
 * PostgreSQL later), no item depending on itself, no cycle (its error names the refs on it).
 * Paths are JSON Pointers under `pointer(index)`.
 */
export function checkBatchGraph(
  items: readonly Pick<WorkloadSubmissionV1, 'ref' | 'dependsOn'>[],
  pointer: (index: number) => string,
): BatchGraph {
  const refs = new Map<string, number>();
  const errors: RequestFieldError[] = [];
  items.forEach((item, i) => {
    if (item.ref === undefined) return;
    const first = refs.get(item.ref);
    if (first === undefined) refs.set(item.ref, i);
    else
      errors.push({
        path: `${pointer(i)}/ref`,
        in: 'body',
        message: `repeats the ref "${item.ref}" of ${pointer(first)}/ref: refs are unique in a batch`,
      });
  });
  // Edges inside the batch: item i depends on items edges[i].
  const edges: number[][] = items.map(() => []);
  items.forEach((item, i) => {
    (item.dependsOn ?? []).forEach((entry, j) => {
      const target = refs.get(entry);
      if (target === undefined) {
        if (!isWorkloadId(entry))
          errors.push({
            path: `${pointer(i)}/dependsOn/${j}`,
            in: 'body',
            message: `"${entry}" is neither a ref of this batch nor a workload id`,
          });
        return;
      }
      if (target === i)
        errors.push({
          path: `${pointer(i)}/dependsOn/${j}`,
          in: 'body',
          message: `names the workload's own ref "${entry}": a workload cannot depend on itself`,
        });
      else edges[i]!.push(target);
    });
  });
  const order: number[] = [];
  if (errors.length > 0) return { refs, order, errors };
  // Depth-first, dependencies first; a grey node met again closes a cycle.
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const color = items.map(() => WHITE);
  const name = (i: number) => items[i]!.ref ?? pointer(i);
  for (let root = 0; root < items.length && errors.length === 0; root++) {
    if (color[root] !== WHITE) continue;
    // An explicit stack: a chain of 1,000 items must not overflow the call stack.
    const stack: { node: number; next: number }[] = [{ node: root, next: 0 }];
    color[root] = GREY;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const out = edges[top.node]!;
      if (top.next < out.length) {
        const to = out[top.next++]!;
        if (color[to] === WHITE) {
          color[to] = GREY;
          stack.push({ node: to, next: 0 });
        } else if (color[to] === GREY) {
          const at = stack.findIndex((f) => f.node === to);
          const cycle = stack.slice(at).map((f) => name(f.node));
          errors.push({
            path: `${pointer(to)}/dependsOn`,
            in: 'body',
            message: `the dependencies form a cycle: ${[...cycle, name(to)].map((r) => `"${r}"`).join(' → ')}`,
          });
          break;
        }
        continue;
      }
      color[top.node] = BLACK;
      order.push(top.node);
      stack.pop();
    }
  }
  return { refs, order, errors };
}
