import { connect } from '@nats-io/transport-node';
import { sql } from 'kysely';
import type { BenchSystem } from './system.js';

/** The servers a run measured: their builds move the figures as much as the code does. */
export interface ServerVersions {
  /** `server_version` of PostgreSQL. */
  postgres: string;
  /** Whether that server could JIT-compile (built with LLVM); the services turn it off. */
  postgresJitAvailable: boolean;
  /** nats-server's version, as it announces itself. */
  nats: string | undefined;
}

/** Asks each server what it is. */
export async function serverVersions(sys: BenchSystem): Promise<ServerVersions> {
  // pg_jit_available() also answers the session's jit setting, which every pool here sets off.
  const rows = await sys.db.transaction().execute(async (trx) => {
    await sql`set local jit = on`.execute(trx);
    return (
      await sql<{ version: string; jit: boolean }>`
        select current_setting('server_version') as version, pg_jit_available() as jit`.execute(trx)
    ).rows;
  });
  let nats: string | undefined;
  try {
    const nc = await connect({ servers: sys.natsUrl, name: 'niyanta-bench-versions' });
    nats = nc.info?.version;
    await nc.close();
  } catch {
    // not reachable from here: the figures stand without it
  }
  return { postgres: rows[0]!.version, postgresJitAvailable: rows[0]!.jit, nats };
}

/** "PostgreSQL 18.4 (no JIT), nats-server 2.9.10". */
export function describeServers(v: ServerVersions): string {
  return (
    `PostgreSQL ${v.postgres} (${v.postgresJitAvailable ? 'JIT available' : 'no JIT'})` +
    `, nats-server ${v.nats ?? 'unknown'}`
  );
}
