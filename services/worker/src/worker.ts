import type { JsMsg } from '@nats-io/jetstream';
import { ensureConsumer, traceparentOf, workerConsumers } from '@niyanta/messages';
import type { ControlV1 } from '@niyanta/messages';
import { createBlobStore } from '@niyanta/blob-store';
import {
  DeadLetters,
  announcingDeadLetterSink,
  connectNats,
  consumeBatches,
  startHealthServer,
} from '@niyanta/runtime';
import type { BatchConsumer, DecodedMessage, HealthServer, Nats } from '@niyanta/runtime';
import { loadWorkloadModules } from '@niyanta/worker-sdk';
import type { WorkloadDefinition } from '@niyanta/worker-sdk';
import { CheckpointStorage } from './checkpoint-upload.js';
import { CompletionBatcher } from './completion.js';
import type { WorkerConfig } from './config.js';
import { DuplicateWorkloadTypeError } from './errors.js';
import { startHeartbeats, WORKER_STATUS } from './heartbeat.js';
import type { Heartbeats, WorkerStatus } from './heartbeat.js';
import { createWorkerLogger } from './logger.js';
import type { Logger } from './logger.js';
import { Runner } from './runner.js';
import { builtinWorkloads, resolveExecAllow } from './workloads/index.js';
import type { ExecOptions } from './workloads/index.js';

/** Un-acked assignment messages a worker may hold: bounded so one worker cannot hoard the queue. */

/** How each per-run control action stops its run. */
const CONTROL_STOPS = { stop: 'cancel', pause: 'pause', preempt: 'preempt' } as const;
export const ASSIGN_MAX_ACK_PENDING = 1_000;
const CONTROL_MAX_ACK_PENDING = 1_000;

/** A running worker; dispose drains it (hands back what it cannot finish) and disconnects. */
export interface Worker extends AsyncDisposable {
  readonly workerId: string;
  /** Workload types it runs, sorted. */
  readonly types: readonly string[];
  /** Stops taking work (queued assignments are released) without exiting; idempotent. */
  drain(): Promise<void>;
  /** Drains, waits up to DRAIN_TIMEOUT_MS for runs, hands back the rest, disconnects; idempotent. */
  close(): Promise<void>;
}

/** Starts the worker: NATS consumers, heartbeats, optional health server. */
export async function start(
  config: WorkerConfig,
  opts: { log?: Logger; signal?: AbortSignal } = {},
): Promise<Worker> {
  const log = (opts.log ?? createWorkerLogger(config.logLevel)).child({
    workerId: config.workerId,
  });
  const { workerId } = config;
  const definitions = await loadDefinitions(config, log);
  const types = [...definitions.keys()].sort();
  const consumers = workerConsumers(workerId);

  const nats: Nats = await connectNats({
    url: config.natsUrl,
    auth: config.natsAuth,
    inboxPrefix: `_INBOX.worker.${workerId}`,
    name: `worker-${workerId}`,
    log,
    signal: opts.signal,
    ...(config.streams === undefined ? {} : { streams: config.streams }),
  });
  const ensureAssign = () =>
    ensureConsumer(nats.jsm, { ...consumers.assign, max_ack_pending: ASSIGN_MAX_ACK_PENDING });
  const ensureControl = () =>
    ensureConsumer(nats.jsm, { ...consumers.control, max_ack_pending: CONTROL_MAX_ACK_PENDING });
  let health: HealthServer | undefined;
  let draining: Promise<void> | undefined;
  try {
    await ensureAssign();
    await ensureControl();
    if (config.healthPort !== undefined) {
      health = await startHealthServer({
        port: config.healthPort,
        checks: { nats: () => nats.isConnected(), accepting: () => draining === undefined },
      });
    }
  } catch (err) {
    await nats.close();
    throw err;
  }

  const checkpoints = new CheckpointStorage(
    createBlobStore(config.blob),
    config.checkpointInlineMaxBytes,
  );
  const startedAt = new Date().toISOString();
  let status: WorkerStatus = WORKER_STATUS.active;
  const runner = new Runner({
    js: nats.js,
    workerId,
    slots: config.slots,
    definitions,
    log,
    completions: new CompletionBatcher({ js: nats.js, workerId, log }),
    checkpoints,
    secretKeys: config.secretKeys,
  });
  const heartbeats: Heartbeats = startHeartbeats({
    js: nats.js,
    workerId,
    intervalMs: config.heartbeatIntervalMs,
    log,
    body: () => ({
      workerId,
      status,
      capacity: {
        slots: config.slots,
        cpu: config.cpu,
        memoryMb: config.memoryMb,
        gpu: config.gpu,
      },
      labels: config.labels,
      ...(config.zone === undefined ? {} : { zone: config.zone }),
      taints: config.taints,
      ...(config.costPerHour === undefined ? {} : { costPerHour: config.costPerHour }),
      spot: config.spot,
      types,
      running: runner.runningSnapshot(),
      startedAt,
      intervalMs: config.heartbeatIntervalMs,
    }),
  });
  const firstBeat = heartbeats.beatNow();

  // No database here: dead letters are announced, and the scheduler records them.
  const sink = announcingDeadLetterSink({ js: nats.js, log });
  const assignLetters = new DeadLetters({
    stream: consumers.assign.stream,
    consumer: consumers.assign.durable_name,
    sink,
    log,
  });
  const controlLetters = new DeadLetters({
    stream: consumers.control.stream,
    consumer: consumers.control.durable_name,
    sink,
    log,
  });

  /**
   * Decodes messages meant for this worker; an invalid one, or one addressed to another worker,
   * is a dead letter (never retried).
   */
  const decodeOwn = async <K extends 'assignment' | 'control'>(
    kind: K,
    msgs: readonly JsMsg[],
    letters: DeadLetters,
  ) => {
    const decoded = await letters.decode(kind, msgs);
    const own: DecodedMessage<(typeof decoded)[number]['value']>[] = [];
    const others = [];
    for (const d of decoded) {
      if (d.value.workerId === workerId) own.push(d);
      else others.push({ msg: d.msg, error: `${kind} addressed to worker ${d.value.workerId}` });
    }
    await letters.refuse(others);
    return own;
  };

  const handleAssignments = async (msgs: JsMsg[]): Promise<void> => {
    for (const { msg, value: assignment } of await decodeOwn('assignment', msgs, assignLetters)) {
      const traceparent = traceparentOf(msg.headers);
      for (const a of assignment.assignments) runner.accept(a, traceparent);
      msg.ack();
    }
  };

  const drain = (): Promise<void> =>
    (draining ??= (async () => {
      log.info(
        { running: runner.runningCount, queued: runner.queuedCount },
        'draining: taking no more work',
      );
      status = WORKER_STATUS.draining;
      health?.setDraining();
      runner.beginDrain();
      // Un-acked and undelivered assignments stay in the stream for the scheduler's reconciliation.
      await Promise.all([heartbeats.beatNow(), assignConsumer.stop()]);
    })());

  const handleControl = async (msgs: JsMsg[]): Promise<void> => {
    for (const { msg, value: control } of await decodeOwn('control', msgs, controlLetters)) {
      await applyControl(control);
      msg.ack();
    }
  };
  const applyControl = async (control: ControlV1): Promise<void> => {
    const fields = {
      action: control.action,
      workloadId: control.workloadId,
      attempt: control.attempt,
      reason: control.reason,
    };
    if (control.action === 'drain') {
      log.info(fields, 'drain requested');
      await drain();
      return;
    }
    if (control.workloadId === undefined) {
      log.warn(fields, 'control without a workloadId ignored');
      return;
    }
    const found = runner.stop(
      control.workloadId,
      control.attempt,
      CONTROL_STOPS[control.action],
      control.graceMs,
    );
    log.info(
      { ...fields, found },
      found === 'unknown' ? 'control for a run this worker does not have' : 'control applied',
    );
  };

  // Declared after `drain` uses it: only handlers of consumers started below call `drain`.
  const assignConsumer: BatchConsumer = consumeBatches({
    js: nats.js,
    stream: consumers.assign.stream,
    consumer: consumers.assign.durable_name,
    ensure: ensureAssign,
    handle: handleAssignments,
    log,
    deadLetters: assignLetters,
    maxDeliver: config.maxDeliver,
  });
  const controlConsumer = consumeBatches({
    js: nats.js,
    stream: consumers.control.stream,
    consumer: consumers.control.durable_name,
    ensure: ensureControl,
    handle: handleControl,
    log,
    deadLetters: controlLetters,
    maxDeliver: config.maxDeliver,
  });

  await firstBeat;
  log.info(
    { types, slots: config.slots, labels: config.labels, zone: config.zone },
    'worker started',
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const step = async (what: string, fn: () => Promise<unknown> | unknown): Promise<void> => {
        try {
          await fn();
        } catch (err) {
          log.error({ err }, `${what} failed during shutdown`);
        }
      };
      log.info('worker stopping');
      await step('drain', drain);
      await step('finish runs', () => runner.finish(config.drainTimeoutMs));
      await step('stop control consumer', () => controlConsumer.stop());
      heartbeats.stop();
      status = WORKER_STATUS.stopped;
      await step('last heartbeat', () => heartbeats.beatNow());
      await step('close health server', () => health?.close());
      await step('close NATS', () => nats.close());
      await step('close the blob store', () => checkpoints.close());
      log.info('worker stopped');
    })());

  return {
    workerId,
    types,
    drain,
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function loadDefinitions(
  config: WorkerConfig,
  log: Logger,
): Promise<Map<string, WorkloadDefinition>> {
  const definitions = new Map<string, WorkloadDefinition>();
  for (const def of builtinWorkloads({ exec: execOptions(config, log) }))
    definitions.set(def.type, def);
  if (config.workloadModules.length > 0) {
    for (const def of await loadWorkloadModules(config.workloadModules)) {
      if (definitions.has(def.type)) throw new DuplicateWorkloadTypeError(def.type);
      definitions.set(def.type, def);
    }
  }
  return definitions;
}

/** `exec`'s options, with WORKER_EXEC_ALLOW's bare names resolved once, on the worker's PATH. */
function execOptions(config: WorkerConfig, log: Logger): ExecOptions | undefined {
  if (config.execAllow === undefined) return undefined;
  const allow =
    config.execAllow === '*'
      ? '*'
      : resolveExecAllow(config.execAllow, config.execInheritedEnv.PATH ?? '');
  log.info(
    {
      execAllow: allow === '*' ? '*' : Object.fromEntries(allow),
      execWorkdir: config.execWorkdir,
      execEnvPass: Object.keys(config.execInheritedEnv),
    },
    'exec enabled',
  );
  return {
    allow,
    inheritedEnv: config.execInheritedEnv,
    workdir: config.execWorkdir,
    maxLogBytes: config.execMaxLogBytes,
  };
}
