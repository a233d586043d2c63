import type { WorkloadRow } from '@niyanta/db';
import { isActiveStatus } from '@niyanta/messages';

/** A message from an attempt newer than the row's, or of a workload with no row, waits this long. */
export const NEWER_ATTEMPT_NAK_MS = 500;

/**
 * Deliveries after which a message from an attempt newer than the row's, or of a workload with no
 * row, is given up (about 10 s of waiting). Assignments are published only once their placement
 * has committed, so no run this scheduler assigned sends one: it comes from elsewhere (a forged or
 * corrupted message, a database restored to an earlier point), and would otherwise come back
 * forever.
 */
export const NEWER_ATTEMPT_MAX_DELIVERIES = 20;

/** What to do with a run update or completion, given the workload's row. */
export const FENCE = {
  apply: 'apply',
  discard: 'discard',
  later: 'later',
  /** A newer attempt (or no row) that waited too long: no placement of it has committed. */
  abandon: 'abandon',
} as const;
export type Fence = (typeof FENCE)[keyof typeof FENCE];

/** The fields of a row the fence reads. */
export type FencedRow = Pick<WorkloadRow, 'attempt' | 'status' | 'worker_id'>;

/**
 * Fencing by attempt: only the current attempt of an active run may record anything. A newer
 * attempt than the row's, or no row at all, is no run this scheduler assigned (assignments go out
 * after their placement commits): it is tried later, up to {@link NEWER_ATTEMPT_MAX_DELIVERIES}
 * deliveries (`deliveries` counts this one), then abandoned. The statements that apply a message
 * without reading its row first state `apply` in SQL: statements/fence-condition.ts.
 */
export function fence(
  row: FencedRow | undefined,
  msg: { attempt: number; workerId: string },
  deliveries = 1,
): Fence {
  if (!row || msg.attempt > row.attempt) {
    return deliveries >= NEWER_ATTEMPT_MAX_DELIVERIES ? FENCE.abandon : FENCE.later;
  }
  if (msg.attempt < row.attempt) return FENCE.discard;
  if (!isActiveStatus(row.status)) return FENCE.discard;
  // The same attempt from another worker: not the run that attempt was placed on. Only the
  // recorded worker counts.
  if (row.worker_id !== null && row.worker_id !== msg.workerId) return FENCE.discard;
  return FENCE.apply;
}
