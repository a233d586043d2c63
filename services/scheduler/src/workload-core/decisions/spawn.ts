import type { WorkloadRow } from '@niyanta/db';
import { FINAL_STATUSES, childWorkloadId } from '@niyanta/messages';
import type { SpawnV1, SubmissionV1, WorkloadStatus } from '@niyanta/messages';
import { FENCE, fence } from './fence.js';
import type { Fence, FencedRow } from './fence.js';

/**
 * Whether a spawn message may record its children: the fence of every run message (the current
 * attempt, from the worker it is placed on; a newer attempt is tried later), except that the
 * attempt may already have left its slot without ending the workload. A run publishes its spawns
 * before it reports a wait, but the two travel on different streams: the wait (WAITING) may be
 * recorded first, and so may a drain's hand-back (PENDING, the same attempt until placed again)
 * or a pause. The spawns of that attempt still count; those of an ended parent, or of an earlier
 * attempt, never do (a later attempt spawns again what it does not find). Pure.
 */
export function spawnFence(
  row: FencedRow | undefined,
  msg: { attempt: number; workerId: string },
  deliveries = 1,
): Fence {
  const verdict = fence(row, msg, deliveries);
  if (verdict !== FENCE.discard || row === undefined) return verdict;
  const left =
    row.attempt === msg.attempt &&
    row.worker_id === null &&
    !FINAL_STATUSES.includes(row.status as WorkloadStatus);
  return left ? FENCE.apply : FENCE.discard;
}

/** A child to insert: its tenant (the parent's), its submission and where it hangs. */
export interface ChildWorkload {
  tenant: string;
  submission: SubmissionV1;
  parent: { id: string; index: number; detached: boolean };
}

/**
 * The children a fenced spawn message asks for, as submissions of the PARENT's tenant (the
 * worker names no tenant, and none it could name counts). Each id is derived from the parent's
 * id and the call index, never taken from the message, so the same call is the same child
 * however often it is sent and from whichever attempt. A child inherits its parent's priority
 * unless it names one, and its `submittedBy` (it runs on behalf of the same key). Pure.
 */
export function childWorkloads(
  parent: Pick<WorkloadRow, 'id' | 'tenant' | 'priority' | 'submitted_by'>,
  spawn: Pick<SpawnV1, 'children'>,
): ChildWorkload[] {
  return spawn.children.map((c) => {
    const submission: SubmissionV1 = {
      schemaVersion: 1,
      id: childWorkloadId(parent.id, c.index),
      type: c.type,
      input: c.input,
      priority: c.priority ?? parent.priority,
    };
    if (c.maxAttempts !== undefined) submission.maxAttempts = c.maxAttempts;
    if (c.timeoutSeconds !== undefined) submission.timeoutSeconds = c.timeoutSeconds;
    if (c.requirements !== undefined) submission.requirements = c.requirements;
    if (c.labels !== undefined) submission.labels = c.labels;
    if (c.placement !== undefined) submission.placement = c.placement;
    if (parent.submitted_by !== null) submission.submittedBy = parent.submitted_by;
    return {
      tenant: parent.tenant,
      submission,
      parent: { id: parent.id, index: c.index, detached: c.detached ?? false },
    };
  });
}
