import type { Generated } from 'kysely';

/**
 * One dependency of a workload: `workload_id` runs once `depends_on` has completed (or, with
 * `onDependencyFailure: "run"`, ended). Written only by the scheduler.
 */
export interface WorkloadDependenciesTable {
  workload_id: string;
  depends_on: string;
  /** Its index in the submission's `dependsOn`. */
  position: number;
  /** The batch ref the submission named it by, if any: `ctx.dependencies` is keyed by it too. */
  ref: string | null;
  /** The dependency ended in a way that lets the dependent go on. */
  met: Generated<boolean>;
}
