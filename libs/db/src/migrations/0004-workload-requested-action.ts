import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// A cancel or pause of a running workload is carried out by its worker; until the worker's own
// `cancelled`/`paused` arrives the request lives only in a control message. Storing it lets the
// scheduler honour it when the run ends without that word (worker dead, attempt lost, run handed
// back, retryable failure) instead of running the workload again. It only means something while
// a run is active, which the check enforces.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table workloads add column requested_action text
      constraint workloads_requested_action_check check (requested_action in ('cancel','pause')),
      add constraint workloads_requested_action_active_check
      check (requested_action is null or status in ('SCHEDULED','RUNNING'))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table workloads drop column if exists requested_action`.execute(db);
}
