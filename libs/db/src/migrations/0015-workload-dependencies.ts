import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// Dependencies between workloads (docs/workflows.md). `workload_dependencies` holds one edge per
// dependency: `workload_id` waits for `depends_on`; `met` once the dependency ended in a way that
// lets it go on. A workload waiting on dependencies keeps `deps_waiting` (its edges not met) and
// is PENDING and parked, so it is out of the queue index and costs a placement cycle nothing; the
// parked index leaves it out too, so a growing fleet never looks at it.
//
// The bookkeeping is written once, in SQL: `niyanta_dependency_ended(id, status)` records that a
// dependency ended (edges met, dependents released; or dependents cancelled with
// DEPENDENCY_FAILED down the graph, with their workload_events rows). A row trigger calls it in
// the very statement that ends a workload with dependents (`has_dependents`), so whichever
// scheduler statement ends it (a completion, a command, a failure), the dependents change in the
// same transaction: a SIGKILL between the two is impossible. The trigger's condition is evaluated
// on the updated row alone; a workload without dependents never runs the function.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table workloads
      add column deps_waiting integer not null default 0,
      add column has_dependents boolean not null default false,
      add column on_dependency_failure text
        check (on_dependency_failure in ('cancel', 'run')),
      add constraint workloads_deps_waiting_check check (deps_waiting >= 0)`.execute(db);
  await sql`
    create table workload_dependencies (
      workload_id uuid not null references workloads (id) on delete cascade,
      depends_on uuid not null,
      position smallint not null,
      ref text,
      met boolean not null default false,
      primary key (workload_id, depends_on)
    )`.execute(db);
  await sql`create index workload_dependencies_dependents
    on workload_dependencies (depends_on, workload_id)`.execute(db);
  // A workload waiting on dependencies is parked but no fleet change may release it.
  await sql`drop index workloads_parked`.execute(db);
  await sql`create index workloads_parked on workloads (type, id)
    where status = 'PENDING' and parked and deps_waiting = 0`.execute(db);

  await sql`
    create function niyanta_dependency_ended(dep uuid, dep_status text) returns void
    language plpgsql as $fn$
    begin
      -- Edges this end meets: every one when it COMPLETED; when it FAILED or was CANCELLED, those
      -- of dependents that run anyway. A dependent whose last edge is met goes to the queue.
      with met as (
        update workload_dependencies d set met = true
        from workloads w
        where d.depends_on = dep and not d.met and w.id = d.workload_id
          and w.status in ('PENDING', 'PAUSED') and w.deps_waiting > 0
          and (dep_status = 'COMPLETED' or w.on_dependency_failure = 'run')
        returning d.workload_id
      ), n as (
        select workload_id, count(*)::int as k from met group by workload_id
      )
      update workloads w set
        deps_waiting = greatest(w.deps_waiting - n.k, 0),
        parked = w.status = 'PENDING' and w.deps_waiting - n.k > 0,
        pending_reason = case
          when w.deps_waiting - n.k > 0 then format('waiting for %s of %s dependencies',
            w.deps_waiting - n.k,
            (select count(*) from workload_dependencies t where t.workload_id = w.id))
          when w.status = 'PENDING' then null
          else w.pending_reason end,
        updated_at = now()
      from n
      where w.id = n.workload_id and w.status in ('PENDING', 'PAUSED') and w.deps_waiting > 0;

      if dep_status = 'COMPLETED' then
        return;
      end if;
      -- Dependents that do not run after a failed dependency end CANCELLED, and theirs in turn:
      -- the whole doomed part of the graph in one statement, each naming the dependency whose
      -- end cancelled it. (Their own triggers then release dependents that run anyway.)
      with recursive doomed(id, cause, cause_status) as (
        select d.workload_id, dep, dep_status
        from workload_dependencies d join workloads w on w.id = d.workload_id
        where d.depends_on = dep and w.status in ('PENDING', 'PAUSED') and w.deps_waiting > 0
          and w.on_dependency_failure = 'cancel'
        union
        select d.workload_id, x.id, 'CANCELLED'
        from doomed x join workload_dependencies d on d.depends_on = x.id
          join workloads w on w.id = d.workload_id
        where w.status in ('PENDING', 'PAUSED') and w.deps_waiting > 0
          and w.on_dependency_failure = 'cancel'
      ), one as (
        select distinct on (id) id, cause, cause_status from doomed order by id, cause
      ), u as (
        update workloads w set
          status = 'CANCELLED',
          error = jsonb_build_object(
            'code', 'DEPENDENCY_FAILED',
            'message', format('dependency %s ended %s', one.cause, one.cause_status),
            'retryable', false,
            'details', jsonb_build_object('dependency', one.cause, 'status', one.cause_status)),
          parked = false,
          deps_waiting = 0,
          pending_reason = null,
          requested_action = null,
          finished_at = now(),
          updated_at = now()
        from one join workloads old on old.id = one.id
        where w.id = one.id and w.status = old.status and w.status in ('PENDING', 'PAUSED')
        returning w.id, old.status as from_status, w.attempt,
          format('dependency %s ended %s', one.cause, one.cause_status) as reason
      )
      insert into workload_events (workload_id, from_status, to_status, attempt, reason, worker_id)
      select id, from_status, 'CANCELLED', attempt, reason, null from u order by id;
    end
    $fn$`.execute(db);

  await sql`
    create function niyanta_dependency_ended_trigger() returns trigger
    language plpgsql as $fn$
    begin
      perform niyanta_dependency_ended(new.id, new.status);
      return null;
    end
    $fn$`.execute(db);
  await sql`
    create trigger workloads_dependency_ended after update on workloads
    for each row when (new.has_dependents
      and new.status in ('COMPLETED', 'FAILED', 'CANCELLED')
      and old.status not in ('COMPLETED', 'FAILED', 'CANCELLED'))
    execute function niyanta_dependency_ended_trigger()`.execute(db);

  // A workload that comes back to PENDING while it still counts dependencies (a resume after a
  // pause, a retry after a cancel; any status change clears parked) waits only for those that
  // have not ended yet, counted anew: one that ended while it was not PENDING or PAUSED was not
  // applied to it. None left: it goes to the queue.
  await sql`
    create function niyanta_dependency_hold() returns trigger
    language plpgsql as $fn$
    begin
      update workload_dependencies d set met = true
      where d.workload_id = new.id and not d.met and not exists (
        select 1 from workloads x where x.id = d.depends_on
          and x.status not in ('COMPLETED', 'FAILED', 'CANCELLED'));
      new.deps_waiting := (select count(*) from workload_dependencies d
        where d.workload_id = new.id and not d.met);
      if new.deps_waiting > 0 then
        new.parked := true;
        new.pending_reason := format('waiting for %s of %s dependencies', new.deps_waiting,
          (select count(*) from workload_dependencies t where t.workload_id = new.id));
      else
        new.pending_reason := null;
      end if;
      return new;
    end
    $fn$`.execute(db);
  await sql`
    create trigger workloads_dependency_hold before update on workloads
    for each row when (new.deps_waiting > 0 and new.status = 'PENDING' and not new.parked)
    execute function niyanta_dependency_hold()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists workloads_dependency_hold on workloads`.execute(db);
  await sql`drop trigger if exists workloads_dependency_ended on workloads`.execute(db);
  await sql`drop function if exists niyanta_dependency_hold()`.execute(db);
  await sql`drop function if exists niyanta_dependency_ended_trigger()`.execute(db);
  await sql`drop function if exists niyanta_dependency_ended(uuid, text)`.execute(db);
  await sql`drop index if exists workloads_parked`.execute(db);
  await sql`create index workloads_parked on workloads (type, id)
    where status = 'PENDING' and parked`.execute(db);
  await sql`drop table if exists workload_dependencies`.execute(db);
  await sql`
    alter table workloads drop constraint if exists workloads_deps_waiting_check,
      drop column if exists on_dependency_failure,
      drop column if exists has_dependents,
      drop column if exists deps_waiting`.execute(db);
}
