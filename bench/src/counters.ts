import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { BENCH_LABEL } from './workload-rows.js';

/** Counters read before and after a phase: their difference per workload shows the work done. */
export interface Counters {
  /** JetStream: last sequence of each stream (messages ever stored there). */
  streams: Record<string, number>;
}

/** Reads the broker's counters; empty when it cannot be read. */
export async function readCounters(natsUrl: string): Promise<Counters> {
  const streams: Record<string, number> = {};
  try {
    const nc = await connect({ servers: natsUrl, name: 'niyanta-bench-counters' });
    try {
      const jsm = await jetstreamManager(nc);
      for await (const info of jsm.streams.list()) streams[info.config.name] = info.state.last_seq;
    } finally {
      await nc.close();
    }
  } catch {
    // broker not reachable for this: leave it out
  }
  return { streams };
}

/** `(after - before) / n` per counter, rounded to 2 decimals. */
export function perWorkload(before: Counters, after: Counters, n: number): Counters {
  const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
    Object.fromEntries(
      Object.entries(a)
        .map(([k, v]) => [k, Math.round(((v - (b[k] ?? 0)) / Math.max(n, 1)) * 100) / 100] as const)
        .filter(([, v]) => v !== 0),
    );
  return { streams: diff(after.streams, before.streams) };
}

/** Rows in `workload_events` per workload of a phase (one per status change). */
export async function eventRowsPerWorkload(
  db: Kysely<Database>,
  minId: string,
  tag: string,
): Promise<number> {
  const { rows } = await sql<{ events: string; workloads: string }>`
    select count(e.id) as events, count(distinct w.id) as workloads
      from workloads w left join workload_events e on e.workload_id = w.id
     where w.id >= ${minId}::uuid and w.labels @> ${JSON.stringify({ [BENCH_LABEL]: tag })}::jsonb`.execute(
    db,
  );
  const r = rows[0]!;
  return Math.round((Number(r.events) / Math.max(Number(r.workloads), 1)) * 100) / 100;
}
