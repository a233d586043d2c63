import type { JsMsg } from '@nats-io/jetstream';
import { CONSUMERS, ensureConsumer } from '@niyanta/messages';
import type { Database } from '@niyanta/db';
import {
  DeadLetters,
  LED_SERVICES,
  ShutdownSteps,
  consumeBatches,
  databaseDeadLetterSink,
  every,
  leadershipTimings,
  natsAuth,
  RETENTION_INTERVAL_MS,
  runRetention,
  runWhenLeading,
  openServiceConnections,
  streamLimits,
  takeOverConsumer,
} from '@niyanta/runtime';
import type { BatchConsumer, Nats, Reloadable, Role } from '@niyanta/runtime';
import { setLeader } from '@niyanta/telemetry';
import type { Kysely } from 'kysely';
import { createCommandHandler } from './handlers/commands.js';
import type { PreemptionMode, SchedulerConfig } from './config.js';
import { createCompletionHandler } from './handlers/completions.js';
import { createDeadLetterRecordHandler } from './handlers/dead-letter-records.js';
import { createIngestHandler } from './handlers/ingest.js';
import { createRunUpdateHandler } from './handlers/run-updates.js';
import { createSpawnHandler } from './handlers/spawns.js';
import { ChildWaits } from './child-waits.js';
import { TenantCache } from './handlers/tenant-cache.js';
import { createWorkerDeadHandler } from './handlers/worker-dead.js';
import { TenantAdmission } from './tenant-admission.js';
import { TenantRunQuotas } from './tenant-run-quotas.js';
import { COMPONENTS, component, createSchedulerLogger } from './logger.js';
import type { Logger } from './logger.js';
import { Backlog } from './backlog.js';
import { Parking } from './placement/parking.js';
import { Placer } from './placement/placer.js';
import { FairQueue } from './placement/fair-queue.js';
import { schedulerRetention } from './retention.js';
import { QUEUE_DEPTH_INTERVAL_MS, publishQueueDepth, readQueueDepth } from './queue-depth.js';
import { fireDueSchedules, forgetDeletedSchedules } from './schedules/firing.js';
import { wakeDueWaits } from './waits/wake-due.js';
import { UsageLedger } from './placement/usage-ledger.js';
import type { Strategy } from './placement/framework.js';
import { forgetWorker } from './worker-cleanup.js';
import { WorkerView } from './placement/worker-view.js';

/** Options of `start`. */
export interface StartOptions {
  /** Default: a new scheduler logger at LOG_LEVEL. */
  log?: Logger;
  /** Aborts a start-up still waiting for NATS or PostgreSQL. */
  signal?: AbortSignal;
}

/** A running scheduler; dispose stops it (consumers, placer, NATS, pool). */
export interface SchedulerService extends AsyncDisposable, Reloadable<SchedulerConfig> {
  /** Runs a placement cycle soon (tests, operators); nothing while standing by. */
  triggerPlacement(): void;
  /** `leader` or `standby`. */
  role(): Role;
  /** The health server's port, when HEALTH_PORT is set. */
  healthPort: number | undefined;
  close(): Promise<void>;
}

/** How often the usage ledger is checked against PostgreSQL (it should never need a fix). */
const LEDGER_RESYNC_MS = 10_000;

const CONSUMER_KEYS = [
  'schedulerIngest',
  'schedulerRun',
  'schedulerComplete',
  'schedulerWorkerDead',
  'schedulerCommands',
  'schedulerDeadLetters',
  'schedulerSpawn',
] as const;
type ConsumerKey = (typeof CONSUMER_KEYS)[number];

/** Starts the scheduler: it stands by, and leads (see `lead`) while it holds the leadership. */
export async function start(
  config: SchedulerConfig,
  opts: StartOptions = {},
): Promise<SchedulerService> {
  const log = opts.log ?? createSchedulerLogger(config.LOG_LEVEL);
  const connections = await openServiceConnections({
    name: 'scheduler',
    led: true,
    natsUrl: config.NATS_URL,
    natsAuth: natsAuth(config),
    databaseUrl: config.DATABASE_URL,
    healthPort: config.HEALTH_PORT,
    streams: streamLimits(config),
    log,
    signal: opts.signal,
  });
  const { nats, health, steps } = connections;
  setLeader('scheduler', false);
  try {
    // Every instance makes sure the consumers exist; only the leader consumes from them.
    for (const key of CONSUMER_KEYS) await ensureConsumer(nats.jsm, CONSUMERS[key]);
    let term: LeaderRun | undefined;
    const leadership = await runWhenLeading({
      service: LED_SERVICES.scheduler,
      databaseUrl: config.DATABASE_URL,
      timings: leadershipTimings(config),
      connections,
      log,
      lead: async ({ db, epoch }) => {
        const run = await lead(config, { db, nats, log: log.child({ epoch }) });
        term = run;
        return {
          [Symbol.asyncDispose]: async () => {
            term = undefined;
            await run[Symbol.asyncDispose]();
          },
        };
      },
    });
    await leadership.settled;
    steps.push(async () => health?.setDraining());
    log.info({ healthPort: health?.port, role: leadership.role() }, 'scheduler started');
    const close = () => steps.run(); // idempotent
    return {
      triggerPlacement: () => term?.trigger(),
      reload: async () => term?.reload(),
      role: () => leadership.role(),
      healthPort: health?.port,
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (err) {
    await steps.run();
    throw err;
  }
}

/** What the leader runs; dispose stops it (consumers, placer, periodic tasks). */
interface LeaderRun extends AsyncDisposable {
  trigger(): void;
  reload(): Promise<void>;
}

/**
 * The leading scheduler: ingest, placement, run updates, completions, dead workers, commands.
 * `db` is the term's fenced pool: once another instance has taken over, every write it makes is
 * refused, so the consumers nak and the new leader gets the messages.
 */
async function lead(
  config: SchedulerConfig,
  deps: { db: Kysely<Database>; nats: Nats; log: Logger },
): Promise<LeaderRun> {
  const { db, log } = deps;
  const { js, jsm, nc } = deps.nats;
  const steps = new ShutdownSteps(log);
  try {
    // What the previous leader held unacknowledged is handled now, not after its ack wait.
    for (const key of CONSUMER_KEYS) await takeOverConsumer(jsm, CONSUMERS[key], log);
    // The view triggers the placer and the placer reads the view: the placer is bound late.
    const placerRef: { current?: Placer } = {};
    const trigger = () => placerRef.current?.trigger();
    const parking = new Parking(trigger);
    const view = new WorkerView({
      nc,
      db,
      heartbeatTimeoutMs: config.HEARTBEAT_TIMEOUT_MS,
      log: component(log, COMPONENTS.workerView),
      onCapacity: trigger,
      onGrowth: (types) => parking.grew(types),
    });
    // Loaded before any consumer runs: from then on every commit keeps it exact.
    const ledger = new UsageLedger(Date.now, config.PLACEMENT_STRATEGY as Strategy);
    await ledger.load(db);
    const backlog = new Backlog();
    const resync = every({
      name: 'usage ledger resync',
      intervalMs: LEDGER_RESYNC_MS,
      log,
      task: async () => {
        const fixed = await ledger.resync(db);
        if (fixed === 0) return;
        log.warn({ fixed }, 'usage ledger corrected from PostgreSQL; placement goes on from there');
        trigger();
      },
    });
    steps.push(() => resync.stop());
    const retention = every({
      name: 'retention',
      intervalMs: RETENTION_INTERVAL_MS,
      log,
      task: async () => {
        await runRetention(schedulerRetention(db, config.WORKLOAD_RETENTION_DAYS), log);
      },
    });
    steps.push(() => retention.stop());
    const depth = every({
      name: 'queue depth metric',
      intervalMs: QUEUE_DEPTH_INTERVAL_MS,
      firstDelayMs: 0,
      log,
      task: async () => publishQueueDepth(await readQueueDepth(db)),
    });
    steps.push(() => depth.stop());
    setLeader('scheduler', true);
    steps.push(async () => setLeader('scheduler', false));
    const scheduleLog = component(log, COMPONENTS.schedules);
    const schedules = every({
      name: 'schedule firings',
      intervalMs: config.SCHEDULE_TICK_MS,
      log: scheduleLog,
      task: () =>
        fireDueSchedules({ db, js, log: scheduleLog, allowSeconds: config.SCHEDULE_TEST_SECONDS }),
    });
    steps.push(() => schedules.stop());
    const scheduleCleanup = every({
      name: 'deleted schedules',
      intervalMs: RETENTION_INTERVAL_MS,
      log: scheduleLog,
      task: async () => {
        await forgetDeletedSchedules(db);
      },
    });
    steps.push(() => scheduleCleanup.stop());
    const waitLog = component(log, COMPONENTS.waits);
    const waits = every({
      name: 'durable waits',
      intervalMs: config.WAIT_TICK_MS,
      log: waitLog,
      task: async () => {
        if ((await wakeDueWaits({ db, js, nc, ledger, backlog, log: waitLog })) > 0) trigger();
      },
    });
    steps.push(() => waits.stop());
    // Parents gathering children wake when their children have ended: named by the commits that
    // end children, and swept for whatever a follow-up missed.
    const childWaits = new ChildWaits({
      db,
      js,
      nc,
      ledger,
      backlog,
      log: waitLog,
      onWoken: trigger,
    });
    const childSweep = every({
      name: 'children waits',
      intervalMs: config.WAIT_TICK_MS,
      log: waitLog,
      task: async () => {
        await childWaits.sweep();
      },
    });
    steps.push(() => childSweep.stop());
    steps.push(() => childWaits.stop());
    const shared = { db, js, nc, ledger, backlog, childrenEnded: childWaits.ended };
    const liveWorkers = () => view.live();
    // Read by the placer (which enforces them) and ingest (which leaves such work to it).
    const runQuotas = new TenantRunQuotas(db);
    const activePlacer = new Placer({
      ...shared,
      runQuotas,
      // Fair share hook: per-tenant queue heads, DRF order, aging, concurrency keys.
      fairQueue: new FairQueue({ agingMs: config.PRIORITY_AGING_MS }),
      preemption: {
        mode: config.PREEMPTION as PreemptionMode, // validated against PREEMPTION_MODES
        minGap: config.PREEMPTION_MIN_GAP,
        graceMs: config.PREEMPTION_GRACE_MS,
        agingMs: config.PRIORITY_AGING_MS,
      },
      liveWorkers,
      parking,
      sweepMs: config.PLACEMENT_SWEEP_MS,
      log: component(log, COMPONENTS.placer),
    });
    placerRef.current = activePlacer;
    await view.start();
    steps.push(() => view.stop());

    const tenants = new TenantCache(db);
    await tenants.refresh();
    const admission = new TenantAdmission(db);
    const backoff = { baseMs: config.RETRY_BACKOFF_BASE_MS, maxMs: config.RETRY_BACKOFF_MAX_MS };
    const sink = databaseDeadLetterSink({ db, js, log });
    /** The dead letters of one consumer: its handler refuses messages through them. */
    const lettersOf = (key: ConsumerKey, clog: Logger) =>
      new DeadLetters({
        stream: CONSUMERS[key].stream,
        consumer: CONSUMERS[key].durable_name,
        sink,
        log: clog,
      });
    const consume = (
      key: ConsumerKey,
      handle: (deadLetters: DeadLetters) => (msgs: JsMsg[]) => Promise<void>,
      clog: Logger,
      maxBatch = 500,
    ) => {
      const deadLetters = lettersOf(key, clog);
      return consumeBatches({
        js,
        stream: CONSUMERS[key].stream,
        consumer: CONSUMERS[key].durable_name,
        ensure: () => ensureConsumer(jsm, CONSUMERS[key]),
        handle: handle(deadLetters),
        log: clog,
        deadLetters,
        maxDeliver: config.MAX_DELIVER,
        maxBatch,
        maxMessages: Math.max(1_000, maxBatch * 2),
      });
    };

    const ingestLog = component(log, COMPONENTS.ingest);
    const runLog = component(log, COMPONENTS.runUpdates);
    const completeLog = component(log, COMPONENTS.completions);
    const deadLog = component(log, COMPONENTS.workerDead);
    const commandLog = component(log, COMPONENTS.commands);
    const deadLettersLog = component(log, COMPONENTS.deadLetters);
    const spawnLog = component(log, COMPONENTS.spawns);
    const consumers: BatchConsumer[] = [
      consume(
        'schedulerIngest',
        // Submissions it refuses go to rejected_submissions; only failures dead-letter them.
        () =>
          createIngestHandler({
            ...shared,
            tenants,
            admission,
            liveWorkers,
            parking,
            log: ingestLog,
            onIngested: trigger,
          }),
        ingestLog,
        config.INGEST_BATCH_MAX,
      ),
      consume(
        'schedulerRun',
        (deadLetters) => createRunUpdateHandler({ ...shared, log: runLog, deadLetters }),
        runLog,
      ),
      consume(
        'schedulerComplete',
        (deadLetters) =>
          createCompletionHandler({
            ...shared,
            deadLetters,
            log: completeLog,
            backoff,
            onApplied: (delays) => {
              if (activePlacer.wantsFreedSlots()) trigger();
              if (delays.length > 0) activePlacer.triggerIn(Math.min(...delays));
            },
          }),
        completeLog,
      ),
      consume(
        'schedulerWorkerDead',
        (deadLetters) =>
          createWorkerDeadHandler({
            ...shared,
            deadLetters,
            forgetWorker: (id) => forgetWorker(jsm, id, deadLog),
            log: deadLog,
            onDead: (id) => view.remove(id),
            onRequeued: trigger,
          }),
        deadLog,
      ),
      consume(
        'schedulerCommands',
        (deadLetters) =>
          createCommandHandler({ ...shared, log: commandLog, onRequeued: trigger, deadLetters }),
        commandLog,
      ),
      consume(
        'schedulerDeadLetters',
        (deadLetters) => createDeadLetterRecordHandler({ db, log: deadLettersLog, deadLetters }),
        deadLettersLog,
      ),
      consume(
        'schedulerSpawn',
        (deadLetters) =>
          createSpawnHandler({
            ...shared,
            deadLetters,
            admission,
            liveWorkers,
            parking,
            log: spawnLog,
            onIngested: trigger,
          }),
        spawnLog,
      ),
    ];
    // Consumers stop first (in-flight batches finish and ack), then the placer, on close.
    steps.push(() => activePlacer.stop());
    steps.push(async () => {
      await Promise.all(consumers.map((c) => c.stop()));
    });
    activePlacer.start();
    log.info({ consumers: CONSUMER_KEYS.length }, 'scheduler leading');
    return {
      trigger,
      // SIGHUP: tenants' rate limits and quotas are read again from PostgreSQL now.
      reload: () => tenants.refresh(),
      [Symbol.asyncDispose]: () => steps.run(),
    };
  } catch (err) {
    await steps.run();
    throw err;
  }
}
