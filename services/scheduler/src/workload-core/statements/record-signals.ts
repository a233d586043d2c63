import { sql } from 'kysely';
import type { Executor } from './executor.js';

/** A signal sent to a workload, by the command that carried it. */
export interface SentSignal {
  workloadId: string;
  /** The command's message id: a redelivered command stores nothing twice. */
  id: string;
  name: string;
  payload: unknown;
}

/** Keeps signals until a wait for their name takes them (statements/take-signals.ts). */
export async function recordSignals(trx: Executor, signals: readonly SentSignal[]): Promise<void> {
  if (signals.length === 0) return;
  const records = JSON.stringify(
    signals.map((s) => ({
      workload_id: s.workloadId,
      id: s.id,
      name: s.name,
      payload: s.payload === undefined ? null : s.payload,
    })),
  );
  await sql`
    insert into workload_signals (workload_id, id, name, payload)
    select v.workload_id, v.id, v.name, v.payload
    from jsonb_to_recordset(${records}::jsonb) as v(workload_id uuid, id uuid, name text, payload jsonb)
    on conflict (workload_id, id) do nothing`.execute(trx);
}
