import { CONSUMERS, ensureConsumer } from '@niyanta/messages';
import {
  ConfigError,
  DeadLetters,
  consumeBatches,
  databaseDeadLetterSink,
  every,
  natsAuth,
  openServiceConnections,
  retryUntilDone,
  streamLimits,
  runRetention,
} from '@niyanta/runtime';
import type { Logger } from '@niyanta/runtime';
import { createBlobStore } from '@niyanta/blob-store';
import { deleteBlobs } from './blob-cleanup.js';
import { createCheckpointHandler } from './checkpoint-handler.js';
import { deleteExpiredCheckpoints } from './checkpoint-store.js';
import { checkpointExpiryHours, crossFieldProblems } from './config.js';
import type { Config } from './config.js';
import { createServiceLogger, SERVICE_NAME } from './logger.js';
import { createOrphanSweep } from './orphan-sweep.js';

export { crossFieldProblems, loadConfig } from './config.js';
export type { Config } from './config.js';
export { judge } from './checkpoint-handler.js';
export type { Verdict } from './checkpoint-handler.js';
export { decodeState, encodeState } from './encode-state.js';
export type { EncodedState } from './encode-state.js';
export { SERVICE_NAME } from './logger.js';

const TTL_SWEEP_INTERVAL_MS = 60_000;
const ORPHAN_SWEEP_INTERVAL_MS = 10 * 60_000;
/** An unreferenced checkpoint blob is deleted after this: long past any upload's message. */
const ORPHAN_GRACE_MS = 60 * 60_000;

/** Options for starting the service in-process (tests) or from main. */
export interface StartOptions {
  log?: Logger;
  /** Aborting it gives up connecting (start-up retries until the servers answer). */
  signal?: AbortSignal;
  /** How often finished workloads' checkpoints are expired; default one minute. */
  ttlSweepIntervalMs?: number;
  /** Checkpoint rows one expiry statement deletes at most (tests); default RETENTION_BATCH. */
  ttlBatch?: number;
  /** How often checkpoint blobs without a row are looked for; default ten minutes. */
  orphanSweepIntervalMs?: number;
  /** How long a blob must stay without a row before it is deleted; default one hour. */
  orphanGraceMs?: number;
}

/**
 * Starts the checkpoint service: stores the current attempt's checkpoints (inline, compressed, or
 * as a verified reference to the blob store), keeps the newest CHECKPOINT_KEEP per workload,
 * expires those of long-finished workloads, and deletes the objects of the rows it deletes.
 * Dispose to stop: unready, stop the sweeps, stop intake, drain NATS, close the pool and the blob store.
 */
export async function start(config: Config, opts: StartOptions = {}): Promise<AsyncDisposable> {
  const problems = crossFieldProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  const log = opts.log ?? createServiceLogger(config.LOG_LEVEL);
  const { database, nats, health, steps } = await openServiceConnections({
    name: SERVICE_NAME,
    natsUrl: config.NATS_URL,
    natsAuth: natsAuth(config),
    databaseUrl: config.DATABASE_URL,
    healthPort: config.HEALTH_PORT,
    streams: streamLimits(config),
    log,
    signal: opts.signal,
  });
  try {
    const blobs = createBlobStore(config);
    steps.push(() => blobs.close());

    const ensure = () => ensureConsumer(nats.jsm, CONSUMERS.checkpointWriter);
    await retryUntilDone('create the checkpoint consumer', ensure, { log, signal: opts.signal });
    const deadLetters = new DeadLetters({
      stream: CONSUMERS.checkpointWriter.stream,
      consumer: CONSUMERS.checkpointWriter.durable_name,
      sink: databaseDeadLetterSink({ db: database.db, js: nats.js, log }),
      log,
    });
    const consumer = consumeBatches({
      js: nats.js,
      stream: CONSUMERS.checkpointWriter.stream,
      consumer: CONSUMERS.checkpointWriter.durable_name,
      ensure,
      handle: createCheckpointHandler({
        db: database.db,
        log,
        keep: config.CHECKPOINT_KEEP,
        inlineMaxBytes: config.CHECKPOINT_INLINE_MAX_BYTES,
        blobs,
        deadLetters,
      }),
      log,
      deadLetters,
      maxDeliver: config.MAX_DELIVER,
    });
    steps.push(() => consumer.stop());

    const expiryHours = checkpointExpiryHours(config);
    const sweeper = every({
      name: 'checkpoint expiry',
      intervalMs: opts.ttlSweepIntervalMs ?? TTL_SWEEP_INTERVAL_MS,
      task: async () => {
        await runRetention(
          [
            {
              name: 'checkpoints',
              step: async (batch) => {
                const { deleted, blobKeys } = await deleteExpiredCheckpoints(
                  database.db,
                  expiryHours,
                  batch,
                );
                await deleteBlobs(blobs, blobKeys, log, 'expired');
                return deleted;
              },
            },
          ],
          log,
          { batch: opts.ttlBatch },
        );
      },
      log,
    });
    steps.push(() => sweeper.stop());
    const orphanSweeper = every({
      name: 'orphaned checkpoint blobs',
      intervalMs: opts.orphanSweepIntervalMs ?? ORPHAN_SWEEP_INTERVAL_MS,
      task: createOrphanSweep({
        db: database.db,
        blobs,
        log,
        graceMs: opts.orphanGraceMs ?? ORPHAN_GRACE_MS,
      }),
      log,
    });
    steps.push(() => orphanSweeper.stop());
    steps.push(async () => health?.setDraining());
    log.info(
      { keep: config.CHECKPOINT_KEEP, blobStore: config.BLOB_STORE, healthPort: health?.port },
      'checkpoint service running',
    );
  } catch (err) {
    await steps.run();
    throw err;
  }
  return { [Symbol.asyncDispose]: () => steps.run() }; // idempotent
}
