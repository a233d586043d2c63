import type { WorkloadRow } from '@niyanta/db';
import { childWorkloadId } from '@niyanta/messages';
import type { SpawnV1, SubmissionV1 } from '@niyanta/messages';

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
