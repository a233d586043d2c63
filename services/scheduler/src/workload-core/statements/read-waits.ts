import type { WaitOutcome } from '@niyanta/messages';
import { sql } from 'kysely';
import type { WaitRow } from '../decisions/wait.js';
import { replayedWait } from '../decisions/wait.js';
import type { Executor } from './executor.js';

/** The resolved waits of each workload, in call order: what a resumed run replays. */
export async function resolvedWaits(
  db: Executor,
  ids: readonly string[],
): Promise<Map<string, WaitOutcome[]>> {
  const out = new Map<string, WaitOutcome[]>();
  if (ids.length === 0) return out;
  const { rows } = await sql<Pick<WaitRow, 'workload_id' | 'seq' | 'kind' | 'signal' | 'outcome'>>`
    select workload_id, seq, kind, signal, outcome from workload_waits
    where workload_id = any(${[...new Set(ids)]}::uuid[]) and resolved_at is not null
    order by workload_id, seq`.execute(db);
  for (const r of rows) {
    let list = out.get(r.workload_id);
    if (!list) out.set(r.workload_id, (list = []));
    list.push(replayedWait(r));
  }
  return out;
}
