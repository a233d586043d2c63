import { ACTIVE_STATUSES } from '@niyanta/messages';
import { sql } from 'kysely';

/**
 * The fence's `apply` (decisions/fence.ts) as a condition on the row `w` and a record `v` with
 * the message's `attempt` and `worker_id`: the current attempt of an active run, from the worker
 * recorded. For the statements that apply a message without reading its row first; a message it
 * leaves out goes to its handler's read, where `fence` says what else to do with it.
 *
 * The active statuses are a parameter so that the plan cannot read the rows through the partial
 * index `workloads_worker_active`: it keeps an entry for every row version that was ever active
 * until vacuum removes it, and a bitmap scan of it visited all of them (9,800 at 500/s after
 * 20 s: 0.33 of a 0.41 ms statement for one completion). The rows are found by id.
 */
export const FENCE_APPLIES = sql`(w.status = any(${ACTIVE_STATUSES}::text[])
  and w.attempt = v.attempt and (w.worker_id is null or w.worker_id = v.worker_id))`;
