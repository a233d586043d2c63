import { sql } from 'kysely';
import type { Kysely } from 'kysely';

// High availability of the scheduler and the health monitor: one instance of each leads at a time.
//
// `leadership` holds one row per led service; its epoch grows by one at every takeover. The
// leader's own database sessions carry their term in the `niyanta.leader` setting
// (`<service>:<epoch>`), and every statement that writes a table the leaders own checks it against
// this row first (`niyanta_leader_fence`): once a newer leader has taken over, an old leader that
// was paused and wakes up has every write refused (SQLSTATE NYF01). The check takes a share lock
// on the row, so a takeover (which updates the row) waits for the old leader's open transactions
// to end and then sees all they wrote. Sessions without the setting (the api, the checkpoint
// service, migrations, tools) are not fenced.
//
// `service_instances` lists the running instances of every service: each instance writes only its
// own row (a heartbeat every few seconds, deleted when it stops), so no two writers share a row.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table leadership (
      service text primary key,
      epoch bigint not null,
      instance_id text not null,
      since timestamptz not null default now()
    )`.execute(db);
  await sql`
    create table service_instances (
      instance_id text primary key,
      service text not null,
      host text not null,
      pid integer not null,
      role text not null check (role in ('leader', 'standby', 'member')),
      epoch bigint,
      started_at timestamptz not null default now(),
      heard_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index service_instances_service on service_instances (service, heard_at)`.execute(
    db,
  );
  await sql`
    create function niyanta_leader_fence() returns trigger language plpgsql as $fence$
    declare
      claim text := current_setting('niyanta.leader', true);
      claimed_service text;
      claimed_epoch bigint;
      current_epoch bigint;
    begin
      if claim is null or claim = '' then
        return null;
      end if;
      claimed_service := split_part(claim, ':', 1);
      claimed_epoch := split_part(claim, ':', 2)::bigint;
      select epoch into current_epoch from leadership where service = claimed_service for share;
      if current_epoch is distinct from claimed_epoch then
        raise exception 'leadership of % at epoch % was superseded (current epoch %): write to % refused',
          claimed_service, claimed_epoch, coalesce(current_epoch::text, 'none'), tg_table_name
          using errcode = 'NYF01';
      end if;
      return null;
    end
    $fence$`.execute(db);
  for (const table of FENCED_TABLES) {
    await sql`
      create trigger leader_fence before insert or update or delete on ${sql.table(table)}
      for each statement execute function niyanta_leader_fence()`.execute(db);
  }
}

/** The tables only a leader (scheduler or health monitor) writes. */
const FENCED_TABLES = [
  'workloads',
  'workload_events',
  'rejected_submissions',
  'dead_letters',
  'workers',
] as const;

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of FENCED_TABLES) {
    await sql`drop trigger if exists leader_fence on ${sql.table(table)}`.execute(db);
  }
  await sql`drop function if exists niyanta_leader_fence()`.execute(db);
  await sql`drop table if exists service_instances`.execute(db);
  await sql`drop table if exists leadership`.execute(db);
}
