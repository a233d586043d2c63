import type { Database } from '@niyanta/db';
import { DEFAULT_TENANT, uuidv7 } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/** A workload row for a test of a statement whose condition is the fence. */
export interface FenceRow {
  status: string;
  attempt: number;
  worker: string | null;
  progress?: unknown;
  /** Started (and last updated) an hour ago; otherwise never started, updated an hour ago. */
  startedAnHourAgo?: boolean;
}

/** Inserts one workload per named row; returns their ids by name. */
export async function insertFenceRows(
  db: Kysely<Database>,
  rows: Record<string, FenceRow>,
): Promise<Record<string, string>> {
  const ids = Object.fromEntries(Object.keys(rows).map((k) => [k, uuidv7()]));
  for (const [name, r] of Object.entries(rows)) {
    await sql`insert into workloads (id, tenant, type, status, attempt, worker_id, priority,
        max_attempts, input, progress, started_at, updated_at)
      values (${ids[name]}, ${DEFAULT_TENANT}, 'noop', ${r.status}, ${r.attempt}, ${r.worker},
        0, 3, '{}', ${r.progress === undefined ? null : JSON.stringify(r.progress)}::jsonb,
        ${r.startedAnHourAgo === true ? sql`now() - interval '1 hour'` : null},
        now() - interval '1 hour')`.execute(db);
  }
  return ids;
}
