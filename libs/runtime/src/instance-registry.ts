import { hostname } from 'node:os';
import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Role } from './leadership.js';
import { every } from './periodic.js';

/** How often an instance refreshes its row in `service_instances`. */
export const INSTANCE_BEAT_MS = 2_000;

/** A registered instance; dispose deletes its row. */
export interface InstanceRegistration extends AsyncDisposable {
  /** Writes the row now (after a role change). */
  beat(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Keeps this instance's own row of `service_instances` fresh (every {@link INSTANCE_BEAT_MS}) so
 * `GET /v1/cluster` can list it; the row is deleted on close. Each instance writes only its row.
 */
export async function registerInstance(opts: {
  db: Kysely<Database>;
  service: string;
  instanceId: string;
  role: () => Role;
  epoch?: () => number | undefined;
  log: Logger;
}): Promise<InstanceRegistration> {
  const { db } = opts;
  const beat = async () => {
    const epoch = opts.epoch?.() ?? null;
    await db
      .insertInto('service_instances')
      .values({
        instance_id: opts.instanceId,
        service: opts.service,
        host: hostname(),
        pid: process.pid,
        role: opts.role(),
        epoch,
        heard_at: sql<Date>`now()`,
      })
      .onConflict((oc) =>
        oc.column('instance_id').doUpdateSet({
          role: opts.role(),
          epoch,
          heard_at: sql<Date>`now()`,
        }),
      )
      .execute();
  };
  try {
    await beat();
  } catch (err) {
    opts.log.warn({ err }, 'instance registration failed; retrying every beat');
  }
  const beats = every({
    name: 'instance heartbeat',
    intervalMs: INSTANCE_BEAT_MS,
    task: beat,
    log: opts.log,
  });
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await beats.stop();
      await db
        .deleteFrom('service_instances')
        .where('instance_id', '=', opts.instanceId)
        .execute()
        .catch((err: unknown) => opts.log.warn({ err }, 'could not delete this instance row'));
    })());
  return { beat, close, [Symbol.asyncDispose]: close };
}
