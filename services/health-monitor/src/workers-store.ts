import type { Database } from '@niyanta/db';
import type { HeartbeatV1 } from '@niyanta/messages';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/** Worker statuses in the `workers` table. */
export const WORKER_STATUS = {
  ACTIVE: 'ACTIVE',
  DRAINING: 'DRAINING',
  DEAD: 'DEAD',
} as const;
export type WorkerStatus = (typeof WORKER_STATUS)[keyof typeof WORKER_STATUS];

const ALIVE: readonly WorkerStatus[] = [WORKER_STATUS.ACTIVE, WORKER_STATUS.DRAINING];

/** A row the upsert changed, with the status it had before (null when the worker is new). */
export interface UpsertedWorker {
  id: string;
  status: WorkerStatus;
  previousStatus: WorkerStatus | null;
  lastHeartbeatAt: Date;
}

/** The status a heartbeat gives its worker: a STOPPED beat is the last one, so the worker is dead. */
export function statusOf(heartbeat: HeartbeatV1): WorkerStatus {
  return heartbeat.status === 'STOPPED' ? WORKER_STATUS.DEAD : heartbeat.status;
}

/**
 * Writes the heartbeats (at most one per worker) in one statement. A row only moves forward in
 * time: an older beat (a redelivery, a slow publisher) never overwrites a newer one. An equal
 * `time` is re-applied, so a batch redelivered after a failed publish announces again, except
 * that a replayed live beat does not bring back a worker that has since been declared dead.
 */
export async function upsertHeartbeats(
  db: Kysely<Database>,
  heartbeats: readonly HeartbeatV1[],
): Promise<UpsertedWorker[]> {
  if (heartbeats.length === 0) return [];
  const values = heartbeats.map((hb) => {
    const status = statusOf(hb);
    return {
      id: hb.workerId,
      status,
      capacity: JSON.stringify(hb.capacity),
      free_slots: Math.max(0, hb.capacity.slots - hb.running.length),
      labels: JSON.stringify(hb.labels),
      zone: hb.zone ?? null,
      types: JSON.stringify(hb.types),
      taints: JSON.stringify(hb.taints ?? []),
      cost_per_hour: hb.costPerHour ?? null,
      spot: hb.spot ?? false,
      running: JSON.stringify(hb.running),
      heartbeat_interval_ms: hb.intervalMs,
      last_heartbeat_at: hb.time,
      heard_at: sql<Date>`now()`,
      started_at: hb.startedAt,
      dead_at: status === WORKER_STATUS.DEAD ? sql<Date>`now()` : null,
      updated_at: sql<Date>`now()`,
    };
  });
  const ids = heartbeats.map((hb) => hb.workerId);
  // The CTE `prev` reads the snapshot from before the insert: it tells a revived worker apart.
  const rows = await db
    .with('prev', (qb) => qb.selectFrom('workers').select(['id', 'status']).where('id', 'in', ids))
    .with('up', (qb) =>
      qb
        .insertInto('workers')
        .values(values)
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet((eb) => ({
              status: eb.ref('excluded.status'),
              capacity: eb.ref('excluded.capacity'),
              free_slots: eb.ref('excluded.free_slots'),
              labels: eb.ref('excluded.labels'),
              zone: eb.ref('excluded.zone'),
              types: eb.ref('excluded.types'),
              taints: eb.ref('excluded.taints'),
              cost_per_hour: eb.ref('excluded.cost_per_hour'),
              spot: eb.ref('excluded.spot'),
              running: eb.ref('excluded.running'),
              heartbeat_interval_ms: eb.ref('excluded.heartbeat_interval_ms'),
              last_heartbeat_at: eb.ref('excluded.last_heartbeat_at'),
              heard_at: eb.ref('excluded.heard_at'),
              started_at: eb.ref('excluded.started_at'),
              dead_at: eb.ref('excluded.dead_at'),
              updated_at: eb.ref('excluded.updated_at'),
            }))
            .where((eb) =>
              eb.or([
                eb('workers.last_heartbeat_at', '<', eb.ref('excluded.last_heartbeat_at')),
                eb.and([
                  eb('workers.last_heartbeat_at', '=', eb.ref('excluded.last_heartbeat_at')),
                  eb.or([
                    eb('excluded.status', '=', WORKER_STATUS.DEAD),
                    eb('workers.status', '<>', WORKER_STATUS.DEAD),
                  ]),
                ]),
              ]),
            ),
        )
        .returning(['id', 'status', 'last_heartbeat_at']),
    )
    .selectFrom('up')
    .leftJoin('prev', 'prev.id', 'up.id')
    .select(['up.id', 'up.status', 'up.last_heartbeat_at', 'prev.status as previous_status'])
    .execute();
  return rows.map((r) => ({
    id: r.id,
    status: r.status as WorkerStatus,
    previousStatus: (r.previous_status ?? null) as WorkerStatus | null,
    lastHeartbeatAt: r.last_heartbeat_at,
  }));
}

/** A live worker whose last heartbeat is older than the timeout. */
export interface SilentWorker {
  id: string;
  lastHeartbeatAt: Date;
  silentMs: number;
}

/** Live workers not heard from for longer than `timeoutMs`, by the database's clock. */
export async function findSilentWorkers(
  db: Kysely<Database>,
  timeoutMs: number,
): Promise<SilentWorker[]> {
  const rows = await db
    .selectFrom('workers')
    .select([
      'id',
      'last_heartbeat_at',
      sql<string>`round(extract(epoch from (now() - heard_at)) * 1000)`.as('silent_ms'),
    ])
    .where('status', 'in', ALIVE)
    .where('heard_at', '<', sql<Date>`now() - ${timeoutMs}::float8 * interval '1 millisecond'`)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    lastHeartbeatAt: r.last_heartbeat_at,
    silentMs: Number(r.silent_ms),
  }));
}

/**
 * Marks the given workers DEAD (only those still alive) and returns the ids it changed. Called
 * after their death was announced, so a crash in between only means announcing again.
 */
export async function markDead(db: Kysely<Database>, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .updateTable('workers')
    .set({ status: WORKER_STATUS.DEAD, dead_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
    .where('id', 'in', ids)
    .where('status', 'in', ALIVE)
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

/** Deletes DEAD workers that died more than `retentionHours` ago; returns how many. */
export async function deleteLongDead(
  db: Kysely<Database>,
  retentionHours: number,
): Promise<number> {
  const result = await db
    .deleteFrom('workers')
    .where('status', '=', WORKER_STATUS.DEAD)
    .where('dead_at', '<', sql<Date>`now() - ${retentionHours}::float8 * interval '1 hour'`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
