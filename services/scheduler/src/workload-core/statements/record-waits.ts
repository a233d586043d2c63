import type { WaitSpec } from '@niyanta/messages';
import { sql } from 'kysely';
import { wakeTime } from '../decisions/wait.js';
import type { Executor } from './executor.js';

/** A wait a run reported, at the attempt that reported it. */
export interface StartedWait {
  workloadId: string;
  attempt: number;
  spec: WaitSpec;
  /** The checkpoint the attempt committed before it reported the wait. */
  checkpointSeq: number | null;
}

/**
 * Records waits as `workload_waits` rows. A wait already recorded under its (workload, seq) (a run
 * that resumed without it having ended, after a pause) keeps its kind, its wake time and any
 * resolution; only the attempt waiting on it and that attempt's checkpoint change. So a sleep's
 * end is fixed when it is first recorded.
 */
export async function recordWaits(trx: Executor, waits: readonly StartedWait[]): Promise<void> {
  if (waits.length === 0) return;
  const records = JSON.stringify(
    waits.map((w) => {
      const at = wakeTime(w.spec);
      return {
        workload_id: w.workloadId,
        seq: w.spec.seq,
        kind: w.spec.kind,
        attempt: w.attempt,
        signal: w.spec.signal ?? null,
        wake_at: at !== null && 'at' in at ? at.at : null,
        wake_after_ms: at !== null && 'afterMs' in at ? at.afterMs : null,
        spec: w.spec.spec ?? null,
        checkpoint_seq: w.checkpointSeq,
      };
    }),
  );
  await sql`
    insert into workload_waits (workload_id, seq, kind, attempt, signal, wake_at, spec, checkpoint_seq)
    select v.workload_id, v.seq, v.kind, v.attempt, v.signal,
      coalesce(v.wake_at, now() + v.wake_after_ms * interval '1 millisecond'),
      v.spec, v.checkpoint_seq
    from jsonb_to_recordset(${records}::jsonb) as v(
      workload_id uuid, seq int, kind text, attempt int, signal text, wake_at timestamptz,
      wake_after_ms bigint, spec jsonb, checkpoint_seq int)
    order by v.workload_id, v.seq
    on conflict (workload_id, seq) do update set
      attempt = excluded.attempt, checkpoint_seq = excluded.checkpoint_seq`.execute(trx);
}
