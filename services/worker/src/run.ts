import type { JetStreamClient } from '@nats-io/jetstream';
import { envelope, publishOne, sanitizeText, SUBJECTS } from '@niyanta/messages';
import type { AssignmentV1, CheckpointV1, LogV1, RunUpdateV1 } from '@niyanta/messages';
import type { SecretKeys } from '@niyanta/runtime';
import { dependencyResults, runAttempt, STOP_REASONS } from '@niyanta/worker-sdk';
import type {
  AttemptHost,
  AttemptOutcome,
  SpawnedChild,
  WorkloadDefinition,
} from '@niyanta/worker-sdk';
import type { CompletionBody } from './completion.js';
import type { CheckpointStorage } from './checkpoint-upload.js';
import { WorkerError } from './errors.js';
import { LogBuffer } from './log-buffer.js';
import type { LogLine, LogStream } from './log-buffer.js';
import type { Logger } from './logger.js';
import { openRunSecrets, redactJson, secretRedactor } from './run-secrets.js';
import { publishSpawns } from './spawn.js';
import { createThrottle } from './throttle.js';
import type { Throttle } from './throttle.js';

/** One assignment of an `assignment` message. */
export type Assignment = AssignmentV1['assignments'][number];

/** Progress updates of one run are published at most this often (the latest is always sent). */
export const PROGRESS_MIN_GAP_MS = 100;
/**
 * A run's `started` update is published only once it has run this long (or reports progress
 * first); a run that ends sooner sends none, and its completion carries `startedAt` instead.
 */
export const STARTED_REPORT_DELAY_MS = 50;
const CHECKPOINT_PUBLISH_TRIES = 3;

/** A run holding a slot. */
export interface ActiveRun {
  readonly assignment: Assignment;
  /** The assignment message's trace, continued by everything the run publishes. */
  readonly traceparent: string | undefined;
  readonly controller: AbortController;
  /** When it took its slot (RFC 3339): for heartbeats, and the start of a run with no checkpoint. */
  readonly startedAt: string;
  /** Latest reported progress, for heartbeats. */
  fraction: number | undefined;
  /**
   * The worker gave the run up (a preempt order's grace passed): its slot and attempt are handed
   * back, and whatever its handler still does is published nowhere (see {@link RunAbandonedError}).
   */
  abandoned: boolean;
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
  /** SECRETS_KEY's keys, to open an assignment's sealed secrets; none without it. */
  secretKeys: SecretKeys | undefined;
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

/** A checkpoint of a run the worker abandoned: the attempt is no longer this worker's to write. */
export class RunAbandonedError extends WorkerError {
  override name = 'RunAbandonedError';
  constructor(
    readonly workloadId: string,
    readonly attempt: number,
  ) {
    super(
      `attempt ${attempt} of workload ${workloadId} was abandoned by the worker after its preempt grace; its checkpoint is not stored. Stop the handler when its signal aborts.`,
    );
  }
}

/**
 * Runs one attempt: runs the handler with a host that publishes `started` (for a run still going
 * after {@link STARTED_REPORT_DELAY_MS}), progress, logs and checkpoints, then flushes what is
 * pending and returns the completion to send.
 */
export async function executeRun(
  deps: RunDeps,
  def: WorkloadDefinition,
  run: ActiveRun,
): Promise<CompletionBody> {
  const { workloadId, attempt, checkpoint } = run.assignment;
  // Opened in memory just before the run; a line of its log never carries a value.
  const opened = openRunSecrets(deps.secretKeys, run.assignment);
  const host = new RunHost(deps, def.type, run, opened.ok ? opened.secrets : {});
  if (!opened.ok) {
    host.logger.error(
      { code: opened.error.code },
      'secrets could not be opened; failing the attempt',
    );
    return { workloadId, attempt, outcome: 'failed', error: opened.error };
  }

  let restoredState: unknown;
  if (checkpoint) {
    // Starting from scratch instead would silently lose the progress the checkpoint holds.
    const restored = await deps.checkpoints.restore(checkpoint);
    if (!restored.ok) {
      host.logger.error(
        { err: restored.cause, seq: checkpoint.seq, code: restored.error.code },
        'checkpoint could not be restored; failing the attempt',
      );
      return { workloadId, attempt, outcome: 'failed', error: restored.error };
    }
    restoredState = restored.state;
  }

  // The handler starts now; a run with no checkpoint to restore started when it took its slot.
  host.begin(checkpoint ? new Date().toISOString() : run.startedAt);
  let outcome: AttemptOutcome;
  let startReported: boolean;
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
      secrets: opened.secrets,
      ...(run.assignment.children === undefined ? {} : { children: run.assignment.children }),
      ...(run.assignment.waits === undefined ? {} : { waits: run.assignment.waits }),
      dependencies: dependencyResults(run.assignment),
    });
  } finally {
    startReported = await host.settle();
  }
  if (deps.log.isLevelEnabled('debug'))
    host.logger.debug({ outcome: outcome.outcome }, 'run ended');
  const completion = toCompletion(workloadId, attempt, outcome, run.controller.signal);
  // The scheduler wakes the run only once the checkpoint it ended with is stored.
  if (outcome.outcome === 'waiting' && host.checkpointSeq !== undefined)
    completion.checkpointSeq = host.checkpointSeq;
  // What the completion carries is stored and shown: a secret the handler put in it is not.
  if (Object.keys(opened.secrets).length > 0) {
    if (completion.result !== undefined)
      completion.result = redactJson(completion.result, host.redact);
    if (completion.error !== undefined)
      completion.error = redactJson(completion.error, host.redact);
  }
  // Without a `started` update the scheduler records the start from the completion.
  if (!startReported) completion.startedAt = host.startedAt;
  return completion;
}

/**
 * What one run publishes besides its completion. Everything but the start time is made on first
 * use: a short run that logs nothing and reports no progress costs no logger, buffer or timer
 * beyond the `started` delay.
 */
class RunHost implements AttemptHost {
  startedAt = '';
  /** The seq of the latest checkpoint of this attempt the broker acked. */
  checkpointSeq: number | undefined;
  private log_: Logger | undefined;
  private startedTimer: NodeJS.Timeout | undefined;
  /** Resolves true once `started` is acked, false if its publish failed. */
  private started: Promise<boolean> | undefined;
  private inFlight: Set<Promise<unknown>> | undefined;
  private progressThrottle: Throttle | undefined;
  private latest: { fraction: number; message: string | undefined } | undefined;
  private logs: LogBuffer | undefined;
  /** Replaces the run's secret values in a text. */
  readonly redact: (line: string) => string;

  constructor(
    private readonly deps: RunDeps,
    private readonly type: string,
    private readonly run: ActiveRun,
    secrets: Readonly<Record<string, string>>,
  ) {
    this.redact = secretRedactor(secrets);
  }

  /** The run's logger (a child with its ids), made on first use. */
  get logger(): Logger {
    const { workloadId, attempt } = this.run.assignment;
    return (this.log_ ??= this.deps.log.child({ workloadId, attempt, type: this.type }));
  }

  /** The handler starts: `started` goes out after the delay unless the run ends first. */
  begin(startedAt: string): void {
    this.startedAt = startedAt;
    this.startedTimer = setTimeout(reportStarted, STARTED_REPORT_DELAY_MS, this);
    if (this.deps.log.isLevelEnabled('debug')) this.logger.debug('run started');
  }

  /** Publishes `started` now unless it already was; its `time` is the real start. */
  reportStarted(): void {
    if (this.started !== undefined || this.run.abandoned) return;
    clearTimeout(this.startedTimer);
    this.startedTimer = undefined;
    this.started = this.runUpdate({ kind: 'started' }, this.startedAt).then(
      () => true,
      (err: unknown) => {
        // The completion then carries startedAt; a missing `started` only delays RUNNING.
        this.logger.warn({ err }, 'run started update could not be published');
        return false;
      },
    );
  }

  progress(fraction: number, message?: string): void {
    if (this.run.abandoned) return;
    this.run.fraction = fraction;
    this.latest = { fraction, message: message === undefined ? undefined : sanitizeText(message) };
    (this.progressThrottle ??= createThrottle(PROGRESS_MIN_GAP_MS, () =>
      this.publishProgress(),
    )).trigger();
  }

  log(stream: LogStream, line: string): void {
    if (this.run.abandoned) return;
    this.logBuffer().push(stream, this.redact(line));
  }

  hasLogRoom(): boolean {
    return this.logs?.hasRoom() ?? true;
  }

  waitForLogRoom(): Promise<void> {
    return this.logs?.waitForRoom() ?? Promise.resolve();
  }

  private logBuffer(): LogBuffer {
    return (this.logs ??= new LogBuffer(
      (lines) => this.publishLogs(lines),
      (err, lines) =>
        this.logger.warn({ err, lines: lines.length }, 'log lines could not be published; dropped'),
    ));
  }

  async checkpoint(state: unknown): Promise<void> {
    const { deps } = this;
    const { workloadId, attempt, checkpoint } = this.run.assignment;
    // An abandoned run's attempt is handed back: a late checkpoint would overwrite what the next
    // attempt resumes from (the checkpoint service still takes this attempt's until it is placed).
    if (this.run.abandoned) throw new RunAbandonedError(workloadId, attempt);
    const seq = deps.nextCheckpointSeq(workloadId, checkpoint?.seq ?? 0);
    // A large state is uploaded first: the message is published only once the object exists.
    const { body, bytes } = await deps.checkpoints.payload({ workloadId, attempt, seq }, state);
    const message: CheckpointV1 = {
      ...envelope(),
      workloadId,
      attempt,
      workerId: deps.workerId,
      seq,
      ...body,
    };
    for (let tries = 1; ; tries++) {
      if (this.run.abandoned) throw new RunAbandonedError(workloadId, attempt);
      try {
        // The same message (and Nats-Msg-Id) each try: a retry after a lost ack is deduplicated.
        await publishOne(deps.js, {
          traceparent: this.run.traceparent,
          kind: 'checkpoint',
          subject: SUBJECTS.checkpoint(workloadId),
          message,
        });
        if (deps.log.isLevelEnabled('debug'))
          this.logger.debug({ seq, bytes, blob: body.blob?.key }, 'checkpoint published');
        this.checkpointSeq = Math.max(this.checkpointSeq ?? -1, seq);
        return;
      } catch (err) {
        if (tries >= CHECKPOINT_PUBLISH_TRIES)
          throw new CheckpointPublishError(workloadId, seq, { cause: err });
        this.logger.warn({ err, seq, tries }, 'checkpoint publish failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 100 * tries));
      }
    }
  }

  spawn(children: SpawnedChild[]): Promise<void> {
    const { workloadId, attempt } = this.run.assignment;
    return publishSpawns(this.deps.js, {
      parentId: workloadId,
      attempt,
      workerId: this.deps.workerId,
      traceparent: this.run.traceparent,
      children,
    });
  }

  /**
   * The run ended: flushes progress and logs and waits for what is in flight. Says whether
   * `started` was published (so the completion need not carry `startedAt`).
   */
  async settle(): Promise<boolean> {
    clearTimeout(this.startedTimer);
    this.startedTimer = undefined;
    this.progressThrottle?.flush();
    await this.logs?.flush();
    if (this.inFlight !== undefined) await Promise.allSettled([...this.inFlight]);
    return this.started === undefined ? false : this.started;
  }

  private publishProgress(): void {
    const latest = this.latest;
    if (latest === undefined || this.run.abandoned) return;
    this.latest = undefined;
    const { fraction, message } = latest;
    // Published after `started` on the same connection, so it never overtakes it in the stream.
    this.reportStarted();
    this.track(
      this.runUpdate({
        kind: 'progress',
        progress: message === undefined ? { fraction } : { fraction, message },
      }).catch((err: unknown) =>
        this.logger.warn({ err, fraction }, 'progress update could not be published'),
      ),
    );
  }

  private async publishLogs(lines: LogLine[]): Promise<void> {
    if (this.run.abandoned) return;
    const { workloadId, attempt } = this.run.assignment;
    await publishOne(this.deps.js, {
      traceparent: this.run.traceparent,
      kind: 'log',
      subject: SUBJECTS.logs(workloadId),
      message: { ...envelope(), workloadId, attempt, lines: lines as LogV1['lines'] },
    });
  }

  private runUpdate(extra: Pick<RunUpdateV1, 'kind' | 'progress'>, time?: string) {
    const { workloadId, attempt } = this.run.assignment;
    const head = envelope();
    if (time !== undefined) head.time = time;
    return publishOne(this.deps.js, {
      traceparent: this.run.traceparent,
      kind: 'runUpdate',
      subject: SUBJECTS.run(workloadId),
      message: { ...head, workloadId, attempt, workerId: this.deps.workerId, ...extra },
    });
  }

  private track(p: Promise<unknown>): void {
    const inFlight = (this.inFlight ??= new Set());
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
}

/** The `started` delay's timer callback (no closure per run). */
function reportStarted(host: RunHost): void {
  host.reportStarted();
}

function toCompletion(
  workloadId: string,
  attempt: number,
  outcome: AttemptOutcome,
  signal: AbortSignal,
): CompletionBody {
  switch (outcome.outcome) {
    case 'succeeded':
      return { workloadId, attempt, outcome: 'succeeded', result: outcome.result };
    case 'failed':
      return { workloadId, attempt, outcome: 'failed', error: outcome.error };
    case 'cancelled':
      return { workloadId, attempt, outcome: 'cancelled' };
    case 'waiting':
      return { workloadId, attempt, outcome: 'waiting', wait: outcome.wait };
    case 'paused':
      // The SDK reports a drain or a preemption as paused; for the scheduler such a run is
      // handed back (released) to continue from its checkpoint.
      return {
        workloadId,
        attempt,
        outcome:
          signal.reason === STOP_REASONS.drain || signal.reason === STOP_REASONS.preempt
            ? 'released'
            : 'paused',
      };
  }
}
