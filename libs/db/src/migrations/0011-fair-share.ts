import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// Fair share, concurrency keys and preemption. Workloads carry their concurrency key (at most
// `concurrency_limit` of a tenant's key SCHEDULED or RUNNING; `ordered`: one at a time, in
// submission order) and whether a higher-priority workload may preempt them; `preemption`
// ({by, attempt}) names the workload that preempted which attempt, for the reason its run's
// hand-back records.
//
// `workloads_tenant_queue` is the queue per tenant: placement reads each tenant's head (highest
// priority, then oldest) with a skip scan over its tenants, so one tenant's backlog of any size
// costs another tenant's first workload nothing. `workloads_concurrency_active` counts a key's
// SCHEDULED and RUNNING workloads; `workloads_ordered_open` finds the oldest unfinished workload of
// an ordered key (a retry waiting for its backoff is unfinished: it keeps its place).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table workloads
      add column concurrency_key text,
      add column concurrency_limit integer
        constraint workloads_concurrency_limit_check check (concurrency_limit between 1 and 10000),
      add column ordered boolean not null default false,
      add column preemptible boolean not null default true,
      add column preemption jsonb,
      add constraint workloads_concurrency_key_check
        check ((concurrency_key is null) = (concurrency_limit is null)),
      add constraint workloads_ordered_check
        check (not ordered or concurrency_limit = 1)`.execute(db);
  await sql`create index workloads_tenant_queue on workloads (tenant, priority desc, id)
    where status = 'PENDING' and not parked`.execute(db);
  await sql`create index workloads_concurrency_active on workloads (tenant, concurrency_key)
    where concurrency_key is not null and status in ('SCHEDULED', 'RUNNING')`.execute(db);
  await sql`create index workloads_ordered_open on workloads (tenant, concurrency_key, id)
    where ordered and status in ('PENDING', 'SCHEDULED', 'RUNNING', 'PAUSED')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists workloads_ordered_open`.execute(db);
  await sql`drop index if exists workloads_concurrency_active`.execute(db);
  await sql`drop index if exists workloads_tenant_queue`.execute(db);
  await sql`
    alter table workloads
      drop constraint if exists workloads_ordered_check,
      drop constraint if exists workloads_concurrency_key_check,
      drop column if exists preemption,
      drop column if exists preemptible,
      drop column if exists ordered,
      drop column if exists concurrency_limit,
      drop column if exists concurrency_key`.execute(db);
}
