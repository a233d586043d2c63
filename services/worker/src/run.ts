import type { JetStreamClient } from '@nats-io/jetstream';
import { envelope, publishOne, SUBJECTS } from '@niyanta/messages';
import type { AssignmentV1, CheckpointV1, LogV1, RunUpdateV1 } from '@niyanta/messages';
import { runAttempt, STOP_REASONS } from '@niyanta/worker-sdk';
import type { AttemptHost, AttemptOutcome, WorkloadDefinition } from '@niyanta/worker-sdk';
import type { CompletionBody } from './completion.js';
import type { CheckpointStorage } from './checkpoint-upload.js';
import { WorkerError } from './errors.js';
import { LogBuffer } from './log-buffer.js';
import type { Logger } from './logger.js';
import { createThrottle } from './throttle.js';

/** One assignment of an `assignment` message. */
export type Assignment = AssignmentV1['assignments'][number];

/** Progress updates of one run are published at most this often (the latest is always sent). */
export const PROGRESS_MIN_GAP_MS = 100;
const CHECKPOINT_PUBLISH_TRIES = 3;

/** A run holding a slot. */
export interface ActiveRun {
  readonly assignment: Assignment;
  /** The assignment message's trace, continued by everything the run publishes. */
  readonly traceparent: string | undefined;
  readonly controller: AbortController;
  readonly startedAt: string;
  /** Latest reported progress, for heartbeats. */
  fraction: number | undefined;
}

/** What a run needs from the worker. */
export interface RunDeps {
  js: JetStreamClient;
  workerId: string;
  log: Logger;
  /** The next checkpoint seq of a workload (after `restoredSeq` and any this worker used). */
  nextCheckpointSeq(workloadId: string, restoredSeq: number): number;
  /** Inline or blob store, by size; restores blob checkpoints. */
  checkpoints: CheckpointStorage;
}

/** Publishing a checkpoint failed after retries. */
export class CheckpointPublishError extends WorkerError {
  override name = 'CheckpointPublishError';
  constructor(
    readonly workloadId: string,
    readonly seq: number,
    options: { cause: unknown },
  ) {
    super(
      `checkpoint ${seq} of workload ${workloadId} could not be published after ${CHECKPOINT_PUBLISH_TRIES} tries: ${(options.cause as Error).message ?? String(options.cause)}. Check the NATS connection.`,
      options,
    );
  }
}

/**
 * Runs one attempt: publishes `started`, runs the handler with a host that publishes progress,
 * logs and checkpoints, then flushes what is pending and returns the completion to send.
 */
export async function executeRun(
  deps: RunDeps,
  def: WorkloadDefinition,
  run: ActiveRun,
): Promise<CompletionBody> {
  const { js, workerId } = deps;
  const { workloadId, attempt, checkpoint } = run.assignment;
  const log = deps.log.child({ workloadId, attempt, type: def.type });
  const base = { workloadId, attempt, workerId };

  let restoredState: unknown;
  if (checkpoint) {
    // Starting from scratch instead would silently lose the progress the checkpoint holds.
    const restored = await deps.checkpoints.restore(checkpoint);
    if (!restored.ok) {
      log.error(
        { err: restored.cause, seq: checkpoint.seq, code: restored.error.code },
        'checkpoint could not be restored; failing the attempt',
      );
      return { ...base, outcome: 'failed', error: restored.error };
    }
    restoredState = restored.state;
  }

  const inFlight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>): void => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  const runUpdate = (extra: Pick<RunUpdateV1, 'kind' | 'progress'>) =>
    publishOne(js, {
      traceparent: run.traceparent,
      kind: 'runUpdate',
      subject: SUBJECTS.run(workloadId),
      message: { ...envelope(), ...base, ...extra },
    });

  try {
    await runUpdate({ kind: 'started' });
  } catch (err) {
    // The completion still records the outcome; a missing `started` only delays RUNNING.
    log.warn({ err }, 'run started update could not be published');
  }

  let latest: { fraction: number; message: string | undefined } | undefined;
  const progress = createThrottle(PROGRESS_MIN_GAP_MS, () => {
    if (latest === undefined) return;
    const { fraction, message } = latest;
    latest = undefined;
    track(
      runUpdate({
        kind: 'progress',
        progress: message === undefined ? { fraction } : { fraction, message },
      }).catch((err: unknown) =>
        log.warn({ err, fraction }, 'progress update could not be published'),
      ),
    );
  });

  const logs = new LogBuffer(
    (lines) =>
      publishOne(js, {
        traceparent: run.traceparent,
        kind: 'log',
        subject: SUBJECTS.logs(workloadId),
        message: { ...envelope(), workloadId, attempt, lines: lines as LogV1['lines'] },
      }).then(() => undefined),
    (err, lines) =>
      log.warn({ err, lines: lines.length }, 'log lines could not be published; dropped'),
  );

  const checkpointPublish = async (state: unknown): Promise<void> => {
    const seq = deps.nextCheckpointSeq(workloadId, checkpoint?.seq ?? 0);
    // A large state is uploaded first: the message is published only once the object exists.
    const { body, bytes } = await deps.checkpoints.payload({ workloadId, attempt, seq }, state);
    const message: CheckpointV1 = {
      ...envelope(),
      workloadId,
      attempt,
      workerId,
      seq,
      ...body,
    };
    for (let tries = 1; ; tries++) {
      try {
        // The same message (and Nats-Msg-Id) each try: a retry after a lost ack is deduplicated.
        await publishOne(js, {
          traceparent: run.traceparent,
          kind: 'checkpoint',
          subject: SUBJECTS.checkpoint(workloadId),
          message,
        });
        log.debug({ seq, bytes, blob: body.blob?.key }, 'checkpoint published');
        return;
      } catch (err) {
        if (tries >= CHECKPOINT_PUBLISH_TRIES)
          throw new CheckpointPublishError(workloadId, seq, { cause: err });
        log.warn({ err, seq, tries }, 'checkpoint publish failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 100 * tries));
      }
    }
  };

  const host: AttemptHost = {
    progress(fraction, message) {
      run.fraction = fraction;
      latest = { fraction, message };
      progress.trigger();
    },
    log: (stream, line) => logs.push(stream, line),
    checkpoint: checkpointPublish,
  };

  log.debug('run started');
  let outcome: AttemptOutcome;
  try {
    outcome = await runAttempt(def, {
      workloadId,
      attempt,
      input: run.assignment.input,
      state: restoredState,
      ...(run.assignment.timeoutSeconds === null
        ? {}
        : { timeoutMs: run.assignment.timeoutSeconds * 1000 }),
      signal: run.controller.signal,
      host,
    });
  } finally {
    progress.flush();
    await logs.flush();
    await Promise.allSettled([...inFlight]);
  }
  log.debug({ outcome: outcome.outcome }, 'run ended');
  return toCompletion(base, outcome, run.controller.signal);
}

function toCompletion(
  base: Pick<CompletionBody, 'workloadId' | 'attempt' | 'workerId'>,
  outcome: AttemptOutcome,
  signal: AbortSignal,
): CompletionBody {
  switch (outcome.outcome) {
    case 'succeeded':
      return { ...base, outcome: 'succeeded', result: outcome.result };
    case 'failed':
      return { ...base, outcome: 'failed', error: outcome.error };
    case 'cancelled':
      return { ...base, outcome: 'cancelled' };
    case 'paused':
      // The SDK reports a drain as paused; for the scheduler a drained run is handed back.
      return { ...base, outcome: signal.reason === STOP_REASONS.drain ? 'released' : 'paused' };
  }
}
