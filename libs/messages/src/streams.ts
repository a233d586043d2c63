import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import type { ConsumerConfig, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { PermissionViolationError, nanos } from '@nats-io/transport-node';
import { StreamSetupError } from './errors.js';
import { SUBJECTS } from './subjects.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

type StreamDefinition = Pick<StreamConfig, 'name' | 'subjects'> & Partial<StreamConfig>;

/**
 * A work queue refuses a message it has no room for (`discard: new`): the publisher sees the
 * error and retries or answers 503, where `discard: old` would drop accepted work unseen.
 */
const workQueue = (name: string, subject: string | string[], extra: Partial<StreamConfig> = {}) =>
  ({
    name,
    subjects: typeof subject === 'string' ? [subject] : subject,
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    duplicate_window: nanos(2 * MINUTE_MS),
    ...extra,
  }) satisfies StreamDefinition;

/**
 * Every stream. Work queues hold messages until a consumer acks them; history streams (events,
 * logs, heartbeats, rejected) keep a bounded window for late readers.
 */
export const STREAMS = {
  submit: workQueue('NIYANTA_SUBMIT', SUBJECTS.submitAll),
  command: workQueue('NIYANTA_COMMAND', SUBJECTS.commandAll),
  assign: workQueue('NIYANTA_ASSIGN', SUBJECTS.assignAll),
  control: workQueue('NIYANTA_CONTROL', SUBJECTS.controlAll),
  run: workQueue('NIYANTA_RUN', SUBJECTS.runAll),
  complete: workQueue('NIYANTA_COMPLETE', [SUBJECTS.completeAll, SUBJECTS.completionsAll]),
  checkpoint: workQueue('NIYANTA_CHECKPOINT', SUBJECTS.checkpointAll),
  workerDead: workQueue('NIYANTA_WORKER_DEAD', SUBJECTS.workerDeadAll),
  spawn: workQueue('NIYANTA_SPAWN', SUBJECTS.spawnAll),
  heartbeat: {
    name: 'NIYANTA_HEARTBEAT',
    subjects: [SUBJECTS.heartbeatAll],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(5 * MINUTE_MS),
    max_msgs_per_subject: 5,
  },
  events: {
    name: 'NIYANTA_EVENTS',
    subjects: [SUBJECTS.eventsAll],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(HOUR_MS),
    // One subject per tenant, one message per transaction of that tenant's changes.
    max_msgs_per_subject: 10_000,
  },
  logs: {
    name: 'NIYANTA_LOGS',
    subjects: [SUBJECTS.logsAll],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(24 * HOUR_MS),
    max_msgs_per_subject: 1000,
  },
  rejected: {
    name: 'NIYANTA_REJECTED',
    subjects: [SUBJECTS.rejected],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(7 * 24 * HOUR_MS),
  },
  dead: {
    name: 'NIYANTA_DEAD',
    subjects: [SUBJECTS.deadAll],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(7 * 24 * HOUR_MS),
    // Announcements carry `dead:<consumer>:<streamSeq>` ids: a retried announcement is dropped.
    duplicate_window: nanos(2 * MINUTE_MS),
  },
} as const satisfies Record<string, StreamDefinition>;

export type StreamKey = keyof typeof STREAMS;

/** The work queues: streams whose messages wait for one consumer to ack them. */
export const WORK_QUEUE_STREAMS = [
  'submit',
  'command',
  'assign',
  'control',
  'run',
  'complete',
  'checkpoint',
  'workerDead',
  'spawn',
] as const satisfies readonly StreamKey[];

/**
 * A deployment's stream sizes. Message counts bound the work queues by default; byte limits are
 * opt-in (-1 or absent: none), because JetStream reserves a stream's `max_bytes` out of the
 * server's store when it creates the stream, so a fixed byte limit would refuse to start on a
 * small broker. Every service creates the streams at start-up, so every service must be given
 * the same limits (they are shared settings of libs/runtime).
 */
export interface StreamLimits {
  /** NIYANTA_SUBMIT: submissions waiting for ingest. */
  submitMaxMsgs: number;
  submitMaxBytes?: number;
  /** Every other work queue (commands, assignments, control, runs, completions, checkpoints). */
  workQueueMaxMsgs: number;
  workQueueMaxBytes?: number;
  /** NIYANTA_EVENTS and NIYANTA_LOGS, on top of their age and per-workload bounds. */
  eventsMaxBytes?: number;
  logsMaxBytes?: number;
  /**
   * Copies of every stream in a JetStream cluster (1, 3 or 5; absent: 1). R3 survives the loss
   * of one server; a single server accepts only 1. Consumers inherit it from their stream.
   */
  replicas?: number;
}

/** Stream limits when a deployment sets none. */
export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  submitMaxMsgs: 1_000_000,
  workQueueMaxMsgs: 1_000_000,
};

/** The configuration of stream `key` under `limits`. */
export function streamConfig(key: StreamKey, limits: StreamLimits = DEFAULT_STREAM_LIMITS) {
  const base: StreamDefinition = { ...STREAMS[key], num_replicas: limits.replicas ?? 1 };
  const bytes = (n: number | undefined) => n ?? -1;
  if (key === 'submit') {
    return { ...base, max_msgs: limits.submitMaxMsgs, max_bytes: bytes(limits.submitMaxBytes) };
  }
  if ((WORK_QUEUE_STREAMS as readonly StreamKey[]).includes(key)) {
    return {
      ...base,
      max_msgs: limits.workQueueMaxMsgs,
      max_bytes: bytes(limits.workQueueMaxBytes),
    };
  }
  if (key === 'events') return { ...base, max_bytes: bytes(limits.eventsMaxBytes) };
  if (key === 'logs') return { ...base, max_bytes: bytes(limits.logsMaxBytes) };
  return base;
}

/** Durable pull consumers of the services (worker consumers are per worker: see `workerConsumers`). */
export const CONSUMERS = {
  schedulerIngest: { stream: STREAMS.submit.name, durable_name: 'scheduler-ingest' },
  schedulerCommands: { stream: STREAMS.command.name, durable_name: 'scheduler-commands' },
  schedulerRun: { stream: STREAMS.run.name, durable_name: 'scheduler-run' },
  schedulerComplete: { stream: STREAMS.complete.name, durable_name: 'scheduler-complete' },
  schedulerWorkerDead: { stream: STREAMS.workerDead.name, durable_name: 'scheduler-worker-dead' },
  schedulerSpawn: { stream: STREAMS.spawn.name, durable_name: 'scheduler-spawn' },
  healthMonitorHeartbeats: {
    stream: STREAMS.heartbeat.name,
    durable_name: 'health-monitor-heartbeats',
    deliver_policy: DeliverPolicy.New,
  },
  checkpointWriter: { stream: STREAMS.checkpoint.name, durable_name: 'checkpoint-writer' },
  /** Records the dead letters of consumers without a database (the worker's). */
  schedulerDeadLetters: { stream: STREAMS.dead.name, durable_name: 'scheduler-dead-letters' },
} as const satisfies Record<
  string,
  { stream: string; durable_name: string; deliver_policy?: DeliverPolicy }
>;

export type ConsumerKey = keyof typeof CONSUMERS;

/** One worker's consumers: its assignments and its control messages. */
export function workerConsumers(workerId: string) {
  return {
    assign: {
      stream: STREAMS.assign.name,
      durable_name: `worker-assign-${workerId}`,
      filter_subject: SUBJECTS.assign(workerId),
    },
    control: {
      stream: STREAMS.control.name,
      durable_name: `worker-control-${workerId}`,
      filter_subject: SUBJECTS.control(workerId),
    },
  } as const;
}

/**
 * How long a delivered message may stay un-acked before the server delivers it again. It bounds
 * the stall after a consumer process dies (SIGKILL, crash): what it held un-acked comes back only
 * then. Handlers ack each batch within milliseconds to a few seconds (consumeBatches keeps at most
 * about one pull plus one batch delivered and waiting), and a redelivery is harmless: every
 * handler is idempotent or fenced by attempt.
 */
const ACK_WAIT_MS = 10_000;

const CONSUMER_DEFAULTS: Partial<ConsumerConfig> = {
  ack_policy: AckPolicy.Explicit,
  ack_wait: nanos(ACK_WAIT_MS),
  max_ack_pending: 20_000,
  max_deliver: -1,
};

function isNotFound(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamNotFound ||
      err.code === JetStreamApiCodes.ConsumerNotFound)
  );
}

function isPermissionDenied(err: unknown): boolean {
  return (
    err instanceof PermissionViolationError ||
    (err instanceof Error && err.cause instanceof PermissionViolationError)
  );
}

/** Whether the server's stream configuration differs from `wanted` in a field `wanted` sets. */
function differs(actual: StreamConfig, wanted: StreamDefinition): boolean {
  const a = actual as unknown as Record<string, unknown>;
  return Object.entries(wanted).some(([k, v]) => JSON.stringify(a[k]) !== JSON.stringify(v));
}

/** Creates or updates the given streams (all by default); safe to run at every start-up. */
export async function ensureStreams(
  jsm: JetStreamManager,
  keys: readonly StreamKey[] = Object.keys(STREAMS) as StreamKey[],
  limits: StreamLimits = DEFAULT_STREAM_LIMITS,
): Promise<void> {
  for (const key of keys) {
    const config = streamConfig(key, limits);
    const failed = (cause: unknown) =>
      new StreamSetupError(config.name, config.num_replicas ?? 1, { cause });
    try {
      const info = await jsm.streams.info(config.name);
      // A stream as defined is left alone. A service whose broker user may only read stream
      // information (every one but the scheduler's) starts once the scheduler has created the
      // streams, and uses them as the scheduler defined them.
      if (!differs(info.config, config)) continue;
      try {
        await jsm.streams.update(config.name, config);
      } catch (err) {
        if (!isPermissionDenied(err)) throw failed(err);
      }
    } catch (err) {
      if (err instanceof StreamSetupError) throw err;
      if (!isNotFound(err)) throw err;
      await jsm.streams.add(config).catch((e: unknown) => {
        throw failed(e);
      });
    }
  }
}

/** Creates a durable pull consumer, or updates it to this configuration; returns its name. */
export async function ensureConsumer(
  jsm: JetStreamManager,
  def: { stream: string; durable_name: string } & Partial<ConsumerConfig>,
): Promise<string> {
  const { stream, ...rest } = def;
  const config: Partial<ConsumerConfig> = { ...CONSUMER_DEFAULTS, ...rest };
  try {
    await jsm.consumers.info(stream, def.durable_name);
    await jsm.consumers.update(stream, def.durable_name, config);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(stream, config);
  }
  return def.durable_name;
}
