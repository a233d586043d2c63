import type { SubmissionV1, WorkloadSubmissionV1 } from '@niyanta/messages';
import { checkBatchGraph } from './dependency-graph.js';
import { ValidationError } from './errors.js';
import type { RequestFieldError } from './errors.js';
import type { SubmitContext } from './submit-context.js';

/**
 * Resolves the `dependsOn` of submissions about to be published: a ref of the batch becomes the
 * id of its item (the new id, or the existing workload's for an item answered by its idempotency
 * key) and is remembered in `dependencyRefs`; every other entry must be the id of a workload of
 * the tenant (one query for the batch), else 400 naming the entry. Returns `pending` in an order
 * where dependencies come first: the scheduler admits a dependency only once it exists, or comes
 * earlier in the stream.
 */
export async function resolveDependencies<T extends { index: number; submission: SubmissionV1 }>(
  ctx: Pick<SubmitContext, 'tenant' | 'connections'>,
  bodies: readonly WorkloadSubmissionV1[],
  existingIds: readonly (string | undefined)[],
  pending: readonly T[],
  pointer: (index: number) => string,
): Promise<T[]> {
  if (!bodies.some((b) => (b.dependsOn?.length ?? 0) > 0)) return [...pending];
  const graph = checkBatchGraph(bodies, pointer);
  if (graph.errors.length > 0) throw invalid(graph.errors);
  const byIndex = new Map(pending.map((p) => [p.index, p]));
  const idOf = (i: number) => byIndex.get(i)?.submission.id ?? existingIds[i]!;
  const outside = new Map<string, { index: number; j: number }[]>();
  for (const p of pending) {
    const entries = bodies[p.index]!.dependsOn ?? [];
    if (entries.length === 0) continue;
    const ids: string[] = [];
    const refs: Record<string, string> = {};
    entries.forEach((entry, j) => {
      const target = graph.refs.get(entry);
      if (target !== undefined) {
        const id = idOf(target);
        refs[id] = entry;
        ids.push(id);
        return;
      }
      const id = entry.toLowerCase();
      ids.push(id);
      let at = outside.get(id);
      if (at === undefined) outside.set(id, (at = []));
      at.push({ index: p.index, j });
    });
    p.submission.dependsOn = [...new Set(ids)];
    if (Object.keys(refs).length > 0) p.submission.dependencyRefs = refs;
  }
  if (outside.size > 0) {
    const rows = await ctx.connections
      .db()
      .selectFrom('workloads')
      .select('id')
      .where('tenant', '=', ctx.tenant)
      .where('id', 'in', [...outside.keys()])
      .execute();
    const known = new Set(rows.map((r) => r.id));
    const errors: RequestFieldError[] = [];
    for (const [id, at] of outside) {
      if (known.has(id)) continue;
      for (const { index, j } of at)
        errors.push({
          path: `${pointer(index)}/dependsOn/${j}`,
          in: 'body',
          message: `no workload ${id} in tenant ${ctx.tenant}`,
        });
    }
    if (errors.length > 0) throw invalid(errors);
  }
  return graph.order.flatMap((i) => {
    const p = byIndex.get(i);
    return p === undefined ? [] : [p];
  });
}

/**
 * Checks the `dependsOn` of a workload that is submitted later, such as a schedule's `workload`
 * (each firing submits it): by the rules of POST /v1/workloads, every entry the id of a workload
 * of the tenant, else a 400 naming the entry under `pointer` (`/workload/dependsOn/1`).
 */
export async function checkDependsOn(
  ctx: Pick<SubmitContext, 'tenant' | 'connections'>,
  body: WorkloadSubmissionV1,
  pointer: string,
): Promise<void> {
  if ((body.dependsOn?.length ?? 0) === 0) return;
  // Resolved into a throwaway submission: only the errors matter here.
  const submission = { id: NO_ID } as SubmissionV1;
  await resolveDependencies(ctx, [body], [undefined], [{ index: 0, submission }], () => pointer);
}

const NO_ID = '00000000-0000-0000-0000-000000000000';

function invalid(errors: RequestFieldError[]): ValidationError {
  errors.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return new ValidationError(
    'the submission names dependencies that are not workloads of its tenant or of its batch, or that form a cycle: see errors',
    errors,
  );
}
