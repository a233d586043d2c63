import { sql } from 'kysely';
import type { WorkloadV1 } from '@niyanta/messages';
import type { Db } from '@niyanta/runtime';

type Kysely = Db['db'];

/**
 * A WAITING workload with `waitingFor`: the wait its current attempt waits on (the scheduler's
 * `workload_waits` row). Any other workload is returned as it is.
 */
export async function withWaitingFor(db: Kysely, w: WorkloadV1): Promise<WorkloadV1> {
  if (w.status !== 'WAITING') return w;
  const { rows } = await sql<{ kind: string; wake_at: Date | null; signal: string | null }>`
    select kind, wake_at, signal from workload_waits
    where workload_id = ${w.id} and attempt = ${w.attempt}
    order by seq desc limit 1`.execute(db);
  const wait = rows[0];
  if (wait === undefined) return w;
  const waitingFor: NonNullable<WorkloadV1['waitingFor']> = {
    kind: wait.kind as NonNullable<WorkloadV1['waitingFor']>['kind'],
  };
  if (wait.wake_at !== null) waitingFor.until = new Date(wait.wake_at).toISOString();
  if (wait.signal !== null) waitingFor.signal = wait.signal;
  return { ...w, waitingFor };
}
