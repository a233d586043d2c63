import type { WorkloadRow } from '@niyanta/db';
import type { Logger } from '../logger.js';

/** Logs a message the fence discarded (`what` names it). */
export function logDiscard(
  log: Logger,
  value: { workloadId: string; attempt: number },
  row: WorkloadRow | undefined,
  what: string,
): void {
  log.info(
    {
      workloadId: value.workloadId,
      attempt: value.attempt,
      currentAttempt: row?.attempt ?? null,
      status: row?.status ?? null,
    },
    `${what} discarded: not the current attempt of an active run`,
  );
}

/** Logs a message of a newer attempt the fence gave up on after `deliveries`. */
export function logAbandon(
  log: Logger,
  value: { workloadId: string; attempt: number },
  row: WorkloadRow | undefined,
  deliveries: number,
  what: string,
): void {
  log.warn(
    {
      workloadId: value.workloadId,
      attempt: value.attempt,
      currentAttempt: row?.attempt ?? null,
      deliveries,
    },
    `${what} of attempt ${value.attempt} discarded after ${deliveries} deliveries: the workload is at attempt ${row?.attempt ?? 'none'} and no placement of that attempt has committed`,
  );
}
