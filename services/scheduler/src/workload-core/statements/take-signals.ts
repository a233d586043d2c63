import { sql } from 'kysely';
import type { Executor } from './executor.js';

/**
 * Resolves the open signal waits of these workloads with the oldest kept signal of the name each
 * waits for, and marks that signal taken by the wait: one signal answers one wait. Returns the
 * workloads whose wait it resolved.
 */
export async function takeSignals(trx: Executor, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<{ workload_id: string }>`
    with open as (
      select ww.workload_id, ww.seq, ww.signal from workload_waits ww
      where ww.workload_id = any(${[...new Set(ids)]}::uuid[])
        and ww.kind = 'signal' and ww.resolved_at is null
      order by ww.workload_id, ww.seq
      for update
    ), pick as (
      select distinct on (o.workload_id) o.workload_id, o.seq, s.id, s.payload
      from open o
      join workload_signals s
        on s.workload_id = o.workload_id and s.name = o.signal and s.taken_seq is null
      order by o.workload_id, o.seq, s.id
    ), took as (
      update workload_signals s set taken_seq = p.seq
      from pick p where s.workload_id = p.workload_id and s.id = p.id
    )
    update workload_waits w
    set resolved_at = now(), outcome = jsonb_build_object('payload', p.payload)
    from pick p
    where w.workload_id = p.workload_id and w.seq = p.seq
    returning w.workload_id`.execute(trx);
  return rows.map((r) => r.workload_id);
}
