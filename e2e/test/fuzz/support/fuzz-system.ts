import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, PubAck } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { WorkloadV1 } from '@niyanta/messages';
import { waitFor } from '@niyanta/testing';
import { startSystem } from '../../support/system.js';
import type { System, WorkerSpec } from '../../support/system.js';

/** Heartbeat tunings of the fuzz system (the e2e FAST ones, stated here so the probe can use them). */
export const HEARTBEAT_INTERVAL_MS = 300;
export const HEARTBEAT_TIMEOUT_MS = 1_500;
/** The health monitor sweeps every quarter heartbeat interval (at least 50 ms). */
export const SWEEP_INTERVAL_MS = Math.max(50, Math.round(HEARTBEAT_INTERVAL_MS / 4));
/** Poison messages reach dead letters after this many deliveries. */
export const MAX_DELIVER = 2;

/** The workload types every worker of the fuzz system runs. */
export const WORKER_TYPES = ['noop', 'sleep', 'exec'] as const;

/** A system for fuzzing: the services, a broker connection of the test's own, and its workers. */
export interface FuzzSystem extends AsyncDisposable {
  sys: System;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Ids of the workers started with the system (they keep running). */
  workerIds: readonly string[];
  /** Publishes bytes with JetStream; `msgId` (may hold anything) becomes the Nats-Msg-Id header. */
  publish(subject: string, data: Uint8Array | string, opts?: { msgId?: string }): Promise<PubAck>;
  /** Submits over HTTP; answers the workload (201 or 202) or throws with the answer. */
  submit(body: Record<string, unknown>): Promise<WorkloadV1>;
  /** Submits many in one batch request; answers their ids in order. */
  submitBatch(bodies: Record<string, unknown>[]): Promise<string[]>;
  /** Waits until every workload of `ids` is COMPLETED; the error names those that are not. */
  waitCompleted(ids: readonly string[], timeoutMs: number): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Starts every service as its own process with MAX_DELIVER=2 (poison reaches dead letters
 * quickly) and the given workers; `exec` may run only `echo` (fuzzed inputs must not run
 * anything else on this machine).
 */
export async function startFuzzSystem(opts: {
  workers: WorkerSpec[];
  env?: Record<string, string>;
}): Promise<FuzzSystem> {
  // The fuzz plays a publisher with every permission: what a service does with any message that
  // reaches it (infra/nats's permissions are tested in libs/runtime and the other e2e suites).
  const sys = await startSystem({
    openBroker: true,
    workers: opts.workers.map((w) => ({ ...w, env: { WORKER_EXEC_ALLOW: 'echo', ...w.env } })),
    env: {
      HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
      HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS),
      MAX_DELIVER: String(MAX_DELIVER),
      ...opts.env,
    },
  });
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: sys.nats.url, name: 'fuzz', maxPingOut: 10 });
  } catch (err) {
    await sys[Symbol.asyncDispose]();
    throw err;
  }
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);

  const submit = async (body: Record<string, unknown>) => {
    const res = await sys.api<WorkloadV1>('POST', '/v1/workloads', body);
    if (res.status !== 201 && res.status !== 202)
      throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  };

  return {
    sys,
    nc,
    js,
    jsm,
    workerIds: opts.workers.map((w) => w.id),
    publish(subject, data, publishOpts = {}) {
      const bytes = typeof data === 'string' ? encoder.encode(data) : data;
      if (publishOpts.msgId === undefined) return js.publish(subject, bytes);
      // A header of our own, not `msgID`: the client would refuse values it finds odd.
      const h = natsHeaders();
      h.set('Nats-Msg-Id', publishOpts.msgId);
      return js.publish(subject, bytes, { headers: h });
    },
    submit,
    async submitBatch(bodies) {
      const res = await sys.api<{ items: { id: string }[] }>('POST', '/v1/workloads/batch', {
        workloads: bodies,
      });
      if (res.status !== 201 && res.status !== 202)
        throw new Error(`batch submit answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body.items.map((w) => w.id);
    },
    async waitCompleted(ids, timeoutMs) {
      let notDone: { id: string; status: string; pending_reason: string | null }[] = [];
      try {
        await waitFor(
          async () => {
            const rows = await sys.db
              .selectFrom('workloads')
              .select(['id', 'status', 'pending_reason'])
              .where('id', 'in', [...ids])
              .execute();
            const seen = new Set(rows.map((r) => r.id));
            notDone = [
              ...rows.filter((r) => r.status !== 'COMPLETED'),
              ...ids
                .filter((id) => !seen.has(id))
                .map((id) => ({ id, status: 'not in PostgreSQL', pending_reason: null })),
            ];
            return notDone.length === 0 ? true : undefined;
          },
          { timeoutMs, intervalMs: 100, message: `${ids.length} workloads to complete` },
        );
      } catch {
        const byStatus = new Map<string, number>();
        for (const w of notDone) byStatus.set(w.status, (byStatus.get(w.status) ?? 0) + 1);
        const sample = notDone[0];
        throw new Error(
          `${notDone.length} of ${ids.length} workloads not COMPLETED after ${timeoutMs} ms ` +
            `(${[...byStatus].map(([s, n]) => `${n} ${s}`).join(', ')}; e.g. ${sample?.id} ` +
            `${sample?.status}, pendingReason ${JSON.stringify(sample?.pending_reason)})`,
        );
      }
    },
    async [Symbol.asyncDispose]() {
      await nc.close().catch(() => undefined);
      await sys[Symbol.asyncDispose]();
    },
  };
}
