import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus registry: every `niyanta_*` metric of the libs and services, plus
 * Node's default process metrics. One per process, so services hosted together in one process
 * (the embedded mode) report their series once, side by side.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

const registers = [metricsRegistry];

/** Latency buckets in seconds, from a millisecond to ten minutes (queue waits can be long). */
const WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];
/** Buckets of work measured in milliseconds to seconds (one placement cycle). */
const CYCLE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Workloads not yet finished, by tenant, type and status (the scheduler refreshes it). */
export const queueDepth = new Gauge({
  name: 'niyanta_queue_depth',
  help: 'Workloads waiting or running, by tenant, type and status (PENDING, SCHEDULED, RUNNING), refreshed from PostgreSQL every few seconds by the scheduler.',
  labelNames: ['tenant', 'type', 'status'] as const,
  registers,
});

/** Runs placed on a worker (their assignments sent). */
export const placements = new Counter({
  name: 'niyanta_placements_total',
  help: 'Runs placed on a worker: assignments sent after their placement committed (at ingest or by a placement cycle).',
  registers,
});

/** Duration of one placement cycle. */
export const placementCycleSeconds = new Histogram({
  name: 'niyanta_placement_cycle_duration_seconds',
  help: 'Duration of one placement cycle of the scheduler, from reading the queue to the assignments sent.',
  buckets: CYCLE_BUCKETS,
  registers,
});

/** Time from submission (the row's creation) to the run reported running. */
export const submitToStartSeconds = new Histogram({
  name: 'niyanta_submit_to_start_seconds',
  help: 'Time from a workload being persisted to one of its runs starting on a worker, by type.',
  labelNames: ['type'] as const,
  buckets: WAIT_BUCKETS,
  registers,
});

/** Workloads finished, by outcome and type. */
export const completions = new Counter({
  name: 'niyanta_completions_total',
  help: 'Workloads that reached a final status, by outcome (succeeded, failed, cancelled) and type.',
  labelNames: ['outcome', 'type'] as const,
  registers,
});

/** Runs sent back to PENDING for another attempt. */
export const retries = new Counter({
  name: 'niyanta_retries_total',
  help: 'Runs sent back to PENDING for another attempt (a retryable failure, a timeout, a dead worker), by type.',
  labelNames: ['type'] as const,
  registers,
});

/** Workers declared dead by the health monitor. */
export const deadWorkers = new Counter({
  name: 'niyanta_dead_workers_total',
  help: 'Workers declared dead by the health monitor (no heartbeat within HEARTBEAT_TIMEOUT_MS).',
  registers,
});

/** Heartbeats received by the health monitor. */
export const heartbeats = new Counter({
  name: 'niyanta_heartbeats_total',
  help: 'Worker heartbeats received by the health monitor.',
  registers,
});

/** Checkpoints recorded by the checkpoint service, by where the state is. */
export const checkpoints = new Counter({
  name: 'niyanta_checkpoints_total',
  help: 'Checkpoints recorded by the checkpoint service, by storage (inline in PostgreSQL, or blob in the object store).',
  labelNames: ['storage'] as const,
  registers,
});

/** Bytes of checkpoint state recorded. */
export const checkpointBytes = new Counter({
  name: 'niyanta_checkpoint_bytes_total',
  help: 'Bytes of checkpoint state recorded by the checkpoint service, by storage (inline or blob).',
  labelNames: ['storage'] as const,
  registers,
});

/** Checkpoint blobs uploaded by workers. */
export const blobUploads = new Counter({
  name: 'niyanta_blob_uploads_total',
  help: 'Checkpoint blobs uploaded by a worker to the object store, by outcome (ok, error).',
  labelNames: ['outcome'] as const,
  registers,
});

/** Bytes of checkpoint blobs uploaded by workers. */
export const blobUploadBytes = new Counter({
  name: 'niyanta_blob_upload_bytes_total',
  help: 'Bytes of checkpoint blobs a worker uploaded to the object store.',
  registers,
});

/** Runs a worker has in progress. */
export const runsActive = new Gauge({
  name: 'niyanta_worker_runs_active',
  help: 'Runs in progress on this worker.',
  registers,
});

/** Messages handed to a consumer's handler. */
export const messagesConsumed = new Counter({
  name: 'niyanta_messages_consumed_total',
  help: 'JetStream messages handed to a service handler, by stream and consumer.',
  labelNames: ['stream', 'consumer'] as const,
  registers,
});

/** Messages published, by kind. */
export const messagesPublished = new Counter({
  name: 'niyanta_messages_published_total',
  help: 'Messages published to NATS, by message kind (submission, assignment, complete, ...).',
  labelNames: ['kind'] as const,
  registers,
});

/** Whether this instance leads its service (1) or stands by (0). */
export const leader = new Gauge({
  name: 'niyanta_leader',
  help: 'Whether this instance leads its service (1) or stands by (0). Services without leader election report 1.',
  labelNames: ['service'] as const,
  registers,
});

/** Says whether this instance leads `service`: the leader election sets it (default 1). */
export function setLeader(service: string, leads: boolean): void {
  leader.set({ service }, leads ? 1 : 0);
}

/** The exposition text of the process's metrics, and its content type. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}

/** What a JetStream consumer reports of its backlog. */
export interface ConsumerLag {
  stream: string;
  consumer: string;
  /** Messages in the stream not yet delivered to the consumer (`num_pending`). */
  pending: number;
  /** Messages delivered but not yet acknowledged (`num_ack_pending`). */
  ackPending: number;
}

/** How long the consumer info read at one scrape serves the next ones. */
const LAG_CACHE_MS = 1_000;
const lagSources = new Set<() => Promise<ConsumerLag>>();
let lagRead: { at: number; lags: Promise<ConsumerLag[]> } | undefined;

/** The lag of every watched consumer, read once for both lag gauges of a scrape. */
function readLags(): Promise<ConsumerLag[]> {
  const now = Date.now();
  if (lagRead === undefined || now - lagRead.at > LAG_CACHE_MS) {
    const lags = Promise.all(
      [...lagSources].map((read) =>
        read().then(
          (lag) => [lag],
          () => [],
        ),
      ),
    ).then((all) => all.flat());
    lagRead = { at: now, lags };
  }
  return lagRead.lags;
}

/** Messages waiting for a consumer (JetStream `num_pending`), read at scrape time. */
export const consumerPending = new Gauge({
  name: 'niyanta_consumer_pending_messages',
  help: 'Messages in the stream not yet delivered to the consumer (JetStream num_pending), by stream and consumer, read when scraped.',
  labelNames: ['stream', 'consumer'] as const,
  registers,
  async collect() {
    const lags = await readLags();
    this.reset();
    for (const l of lags) this.set({ stream: l.stream, consumer: l.consumer }, l.pending);
  },
});

/** Messages delivered to a consumer but not yet acknowledged, read at scrape time. */
export const consumerAckPending = new Gauge({
  name: 'niyanta_consumer_ack_pending_messages',
  help: 'Messages delivered to the consumer and not yet acknowledged (JetStream num_ack_pending), by stream and consumer.',
  labelNames: ['stream', 'consumer'] as const,
  registers,
  async collect() {
    const lags = await readLags();
    this.reset();
    for (const l of lags) this.set({ stream: l.stream, consumer: l.consumer }, l.ackPending);
  },
});

/** Reports a consumer's lag at every scrape until the returned function is called. */
export function watchConsumerLag(read: () => Promise<ConsumerLag>): () => void {
  lagSources.add(read);
  lagRead = undefined;
  return () => {
    lagSources.delete(read);
    lagRead = undefined;
  };
}

const lastHeard = new Map<string, number>();

/** Seconds since the health monitor last heard each live worker, computed when scraped. */
export const heartbeatAge = new Gauge({
  name: 'niyanta_worker_heartbeat_age_seconds',
  help: 'Seconds since the health monitor last received a heartbeat of each worker it considers alive.',
  labelNames: ['worker'] as const,
  registers,
  collect() {
    const now = Date.now();
    this.reset();
    for (const [worker, at] of lastHeard) this.set({ worker }, Math.max(0, now - at) / 1000);
  },
});

/** Records a worker's heartbeat for the heartbeat age gauge. */
export function heartbeatHeard(workerId: string, atMs: number = Date.now()): void {
  heartbeats.inc();
  lastHeard.set(workerId, atMs);
}

/** Drops a worker from the heartbeat age gauge (it was declared dead or left). */
export function workerForgotten(workerId: string): void {
  lastHeard.delete(workerId);
}
