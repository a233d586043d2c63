/** What an assignment carries of a run's dependencies (schemas/messages/assignment.v1.json). */
export interface AssignedDependencies {
  dependencies?: Readonly<Record<string, unknown>>;
  dependencyRefs?: Readonly<Record<string, string>>;
  dependenciesOmitted?: readonly string[];
}

/**
 * `ctx.dependencies`: each dependency's result by its id and, for one named by a ref in its
 * batch, by that ref too. A result too large for the assignment (see `dependenciesOmitted`) is
 * absent: read it with GET /v1/workloads/{id}.
 */
export function dependencyResults(
  assigned: AssignedDependencies,
): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = { ...assigned.dependencies };
  for (const [ref, id] of Object.entries(assigned.dependencyRefs ?? {}))
    if (Object.hasOwn(out, id) && !Object.hasOwn(out, ref)) out[ref] = out[id];
  return Object.freeze(out);
}
