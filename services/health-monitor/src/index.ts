import { CONSUMERS, ensureConsumer } from '@niyanta/messages';
import {
  ConfigError,
  DeadLetters,
  LED_SERVICES,
  ShutdownSteps,
  consumeBatches,
  databaseDeadLetterSink,
  every,
  leadershipTimings,
  natsAuth,
  openServiceConnections,
  retryUntilDone,
  runWhenLeading,
  streamLimits,
} from '@niyanta/runtime';
import type { Logger, Nats, Reloadable } from '@niyanta/runtime';
import { setLeader } from '@niyanta/telemetry';
import type { Database } from '@niyanta/db';
import type { Kysely } from 'kysely';
import { reconcileGraceMs, timeoutProblem } from './config.js';
import type { Config } from './config.js';
import { sweepOnce } from './dead-sweep.js';
import { createHeartbeatHandler } from './heartbeat-handler.js';
import { createServiceLogger, SERVICE_NAME } from './logger.js';
import { Reconciler } from './reconcile.js';
import { reconcileOnce } from './reconcile-sweep.js';

export { loadConfig, reconcileGraceMs, timeoutProblem, MIN_MISSED_BEATS } from './config.js';
export { Reconciler, staleReason } from './reconcile.js';
export type {
  ActiveWorkload,
  CurrentAttempt,
  Findings,
  LostAttempt,
  ReconcileTimings,
  StaleRun,
  WorkerRuns,
} from './reconcile.js';
export type { Config } from './config.js';
export { SERVICE_NAME } from './logger.js';

/** Options for starting the service in-process (tests) or from main. */
export interface StartOptions {
  log?: Logger;
  /** Aborting it gives up connecting (start-up retries until the servers answer). */
  signal?: AbortSignal;
}

/**
 * Starts the health monitor: consumes heartbeats into the `workers` table and sweeps for silent
 * workers every heartbeat interval. Dispose to stop: unready, stop sweeping, stop intake, drain
 * NATS, close the pool.
 */
export async function start(
  config: Config,
  opts: StartOptions = {},
): Promise<AsyncDisposable & Reloadable<Config>> {
  const problem = timeoutProblem(config.HEARTBEAT_INTERVAL_MS, config.HEARTBEAT_TIMEOUT_MS);
  if (problem !== undefined) throw new ConfigError([problem]);
  const log = opts.log ?? createServiceLogger(config.LOG_LEVEL);
  const { database, nats, health, steps } = await openServiceConnections({
    name: SERVICE_NAME,
    led: true,
    natsUrl: config.NATS_URL,
    natsAuth: natsAuth(config),
    databaseUrl: config.DATABASE_URL,
    healthPort: config.HEALTH_PORT,
    streams: streamLimits(config),
    log,
    signal: opts.signal,
  });
  // The silence after which a worker is dead: SIGHUP may change it (with the same interval).
  const limits = { timeoutMs: config.HEARTBEAT_TIMEOUT_MS };
  setLeader(SERVICE_NAME, false);
  try {
    // Created before start() returns: the consumer delivers only heartbeats published after it
    // exists, so a caller that publishes right after start-up must find it there.
    const ensure = () => ensureConsumer(nats.jsm, CONSUMERS.healthMonitorHeartbeats);
    await retryUntilDone('create the heartbeat consumer', ensure, { log, signal: opts.signal });
    const leadership = await runWhenLeading({
      service: LED_SERVICES.healthMonitor,
      databaseUrl: config.DATABASE_URL,
      timings: leadershipTimings(config),
      connections: { database, nats, health, steps },
      log,
      lead: ({ db, epoch }) =>
        lead(config, { db, nats, ensure, limits, log: log.child({ epoch }) }),
    });
    await leadership.settled;
    // Reported first on shutdown: load balancers and probes stop counting on us before intake stops.
    steps.push(async () => health?.setDraining());
    log.info(
      {
        intervalMs: config.HEARTBEAT_INTERVAL_MS,
        timeoutMs: config.HEARTBEAT_TIMEOUT_MS,
        reconcileGraceMs: reconcileGraceMs(config),
        assignmentStartDeadlineMs: config.ASSIGNMENT_START_DEADLINE_MS,
        healthPort: health?.port,
        role: leadership.role(),
      },
      'health monitor running',
    );
  } catch (err) {
    await steps.run();
    throw err;
  }
  return {
    [Symbol.asyncDispose]: () => steps.run(), // idempotent
    reload: (next) => {
      const invalid = timeoutProblem(config.HEARTBEAT_INTERVAL_MS, next.HEARTBEAT_TIMEOUT_MS);
      if (invalid !== undefined) throw new ConfigError([invalid]);
      limits.timeoutMs = next.HEARTBEAT_TIMEOUT_MS;
    },
  };
}

/**
 * What the leading health monitor runs: heartbeat intake, the dead-worker sweep, reconciliation.
 * `db` is the term's fenced pool: a deposed leader can neither record beats nor mark anyone DEAD.
 */
async function lead(
  config: Config,
  deps: {
    db: Kysely<Database>;
    nats: Nats;
    ensure: () => Promise<unknown>;
    /** The silence after which a worker is dead: SIGHUP may change it (with the same interval). */
    limits: { timeoutMs: number };
    log: Logger;
  },
): Promise<AsyncDisposable> {
  const { db, nats, ensure, limits, log } = deps;
  const steps = new ShutdownSteps(log);
  setLeader(SERVICE_NAME, true);
  steps.push(async () => setLeader(SERVICE_NAME, false));
  try {
    const deadLetters = new DeadLetters({
      stream: CONSUMERS.healthMonitorHeartbeats.stream,
      consumer: CONSUMERS.healthMonitorHeartbeats.durable_name,
      sink: databaseDeadLetterSink({ db: db, js: nats.js, log }),
      log,
    });
    const consumer = consumeBatches({
      js: nats.js,
      stream: CONSUMERS.healthMonitorHeartbeats.stream,
      consumer: CONSUMERS.healthMonitorHeartbeats.durable_name,
      ensure,
      handle: createHeartbeatHandler({ db: db, js: nats.js, log, deadLetters }),
      log,
      deadLetters,
      maxDeliver: config.MAX_DELIVER,
    });
    steps.push(() => consumer.stop());

    // The first sweep waits one timeout: after a restart or a takeover, live workers' beats from
    // the time nobody led are still being consumed, and their rows look stale until then.
    const sweeper = every({
      name: 'dead-worker sweep',
      // A quarter interval: a silent worker is declared dead at most that long after its
      // timeout, which is what recovery time is made of (the query is one indexed UPDATE).
      intervalMs: Math.max(50, Math.round(config.HEARTBEAT_INTERVAL_MS / 4)),
      firstDelayMs: config.HEARTBEAT_TIMEOUT_MS,
      task: async () => {
        await sweepOnce({
          db: db,
          js: nats.js,
          log,
          timeoutMs: limits.timeoutMs,
          retentionHours: config.DEAD_WORKER_RETENTION_HOURS,
        });
      },
      log,
    });
    steps.push(() => sweeper.stop());

    const graceMs = reconcileGraceMs(config);
    const reconciler = new Reconciler({
      graceMs,
      startDeadlineMs: config.ASSIGNMENT_START_DEADLINE_MS,
      // A finding that still holds is reported again after a while (its first report may have
      // raced a change that has since been undone), never every round.
      repeatMs: Math.max(10 * config.HEARTBEAT_INTERVAL_MS, config.HEARTBEAT_TIMEOUT_MS),
    });
    const reconcileLog = log.child({ component: 'reconcile' });
    const reconciling = every({
      name: 'reconciliation',
      intervalMs: config.HEARTBEAT_INTERVAL_MS,
      // No wait for fresh rows as the dead-worker sweep does: a live worker's attempt counts as
      // lost only once a NEWER heartbeat than the first that missed it misses it too.
      task: async () => {
        await reconcileOnce({
          db: db,
          js: nats.js,
          jsm: nats.jsm,
          reconciler,
          log: reconcileLog,
        });
      },
      log,
    });
    steps.push(() => reconciling.stop());
    log.info('health monitor leading');
  } catch (err) {
    await steps.run();
    throw err;
  }
  return { [Symbol.asyncDispose]: () => steps.run() };
}
