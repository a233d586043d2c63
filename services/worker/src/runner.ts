import { runsActive } from '@niyanta/telemetry';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { HeartbeatV1 } from '@niyanta/messages';
import { STOP_REASONS } from '@niyanta/worker-sdk';
import type { WorkloadDefinition } from '@niyanta/worker-sdk';
import type { CheckpointStorage } from './checkpoint-upload.js';
import type { CompletionBatcher, CompletionBody } from './completion.js';
import type { Logger } from './logger.js';
import { executeRun } from './run.js';
import type { ActiveRun, Assignment, RunDeps } from './run.js';
import type { SecretKeys } from '@niyanta/runtime';
import { startRunSpan } from './run-span.js';
import type { RunSpan } from './run-span.js';

/** Workload ids whose last checkpoint seq is remembered (a bound on memory, not a behaviour). */
const MAX_REMEMBERED_SEQS = 10_000;

/** How a stop or pause found its run. */
export const STOP_RESULT = {
  running: 'running',
  queued: 'queued',
  unknown: 'unknown',
} as const;
export type StopResult = (typeof STOP_RESULT)[keyof typeof STOP_RESULT];

/** What a queued run stopped before it started reports, by why it stopped. */
const UNSTARTED_OUTCOME = { cancel: 'cancelled', pause: 'paused', preempt: 'released' } as const;

interface SlotRun extends ActiveRun {
  /** Resolves once the run's slot is free: its completion acked, or the run abandoned. */
  done: Promise<void>;
  /** Frees the slot (once) and starts queued work. */
  free: () => void;
  span: RunSpan;
  /** The handler has returned (its completion is being sent): too late to abandon. */
  ended: boolean;
  /** A preempt order's grace, after which the run is abandoned. */
  graceTimer: NodeJS.Timeout | undefined;
}

const runKey = (workloadId: string, attempt: number): string => `${workloadId}#${attempt}`;
/** Log fields of an assignment (the worker's logger has no per-run children on the hot path). */
const idsOf = (a: Assignment) => ({ workloadId: a.workloadId, attempt: a.attempt, type: a.type });

/**
 * The worker's slots: runs at most `slots` assignments at once, the rest wait in a FIFO queue
 * (and are reported nowhere as running). Every accepted assignment ends in exactly one
 * completion, retried until acked; a slot is freed once its completion is acked.
 */
export class Runner {
  private readonly queue: Assignment[] = [];
  private readonly queuedKeys = new Set<string>();
  private readonly running = new Map<string, SlotRun>();
  private readonly seqs = new Map<string, number>();
  private readonly traces = new WeakMap<Assignment, string>();
  private readonly runDeps: RunDeps;
  private draining = false;

  constructor(
    private readonly opts: {
      js: JetStreamClient;
      workerId: string;
      slots: number;
      definitions: ReadonlyMap<string, WorkloadDefinition>;
      log: Logger;
      /** Where every completion goes (batched per worker). */
      completions: CompletionBatcher;
      /** Where checkpoints go (inline or blob store) and come back from. */
      checkpoints: CheckpointStorage;
      /** SECRETS_KEY's keys, to open assignments' secrets. */
      secretKeys?: SecretKeys;
    },
  ) {
    this.runDeps = {
      js: opts.js,
      workerId: opts.workerId,
      log: opts.log,
      nextCheckpointSeq: (id, restored) => this.nextSeq(id, restored),
      checkpoints: opts.checkpoints,
      secretKeys: opts.secretKeys,
    };
  }

  /** Takes an assignment: runs it, queues it, or completes it at once (unknown type, draining). */
  accept(a: Assignment, traceparent?: string): void {
    // The run's own context (its assign span) when the scheduler sent one; else the message's.
    const parent = a.traceparent ?? traceparent;
    if (parent !== undefined) this.traces.set(a, parent);
    const key = runKey(a.workloadId, a.attempt);
    const { log } = this.opts;
    if (this.running.has(key) || this.queuedKeys.has(key)) {
      log.debug(idsOf(a), 'duplicate assignment ignored');
      return;
    }
    if (!this.opts.definitions.has(a.type)) {
      log.warn(
        { ...idsOf(a), types: [...this.opts.definitions.keys()] },
        'assignment of a type this worker does not have',
      );
      this.completeUnstarted(a, {
        outcome: 'failed',
        error: {
          message: `worker ${this.opts.workerId} has no workload type "${a.type}" (it has: ${[...this.opts.definitions.keys()].sort().join(', ')}). Another worker may have it.`,
          code: 'UNKNOWN_TYPE',
          retryable: true,
        },
      });
      return;
    }
    if (this.draining) {
      log.debug(idsOf(a), 'assignment received while draining; released');
      this.completeUnstarted(a, { outcome: 'released' });
      return;
    }
    this.queue.push(a);
    this.queuedKeys.add(key);
    this.pump();
  }

  /**
   * Stops (cancel), pauses or preempts (checkpoint and hand back) a run; a queued one is dropped
   * from the queue with that outcome. A preempted run still going `graceMs` after the order (at
   * once with 0) is abandoned: see {@link abandon}.
   */
  stop(
    workloadId: string,
    attempt: number | undefined,
    reason: 'cancel' | 'pause' | 'preempt',
    graceMs?: number,
  ): StopResult {
    const matches = (a: Assignment) =>
      a.workloadId === workloadId && (attempt === undefined || a.attempt === attempt);
    let found: StopResult = STOP_RESULT.unknown;
    for (const run of [...this.running.values()]) {
      if (!matches(run.assignment)) continue;
      run.controller.abort(STOP_REASONS[reason]);
      found = STOP_RESULT.running;
      if (reason !== 'preempt' || graceMs === undefined || run.graceTimer !== undefined) continue;
      if (graceMs === 0) this.abandon(run, graceMs);
      else run.graceTimer = setTimeout(() => this.abandon(run, graceMs), graceMs);
    }
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const a = this.queue[i]!;
      if (!matches(a)) continue;
      this.queue.splice(i, 1);
      this.queuedKeys.delete(runKey(a.workloadId, a.attempt));
      this.completeUnstarted(a, { outcome: UNSTARTED_OUTCOME[reason] });
      if (found === STOP_RESULT.unknown) found = STOP_RESULT.queued;
    }
    return found;
  }

  /** Takes no more work: queued assignments (and any that arrive later) are released. */
  beginDrain(): void {
    if (this.draining) return;
    this.draining = true;
    // A draining worker is on its way out: completions no longer wait for others to share a message.
    this.opts.completions.stopLingering();
    const queued = this.queue.splice(0);
    this.queuedKeys.clear();
    for (const a of queued) this.completeUnstarted(a, { outcome: 'released' });
  }

  /**
   * Drains: waits up to `timeoutMs` for the runs to finish, then aborts the rest with `drain`
   * (their completions say `released`); resolves once every completion is acked.
   */
  async finish(timeoutMs: number): Promise<void> {
    this.beginDrain();
    const runs = [...this.running.values()];
    if (runs.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const allDone = Promise.all(runs.map((r) => r.done));
      const timedOut = await Promise.race([
        allDone.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        const left = [...this.running.values()];
        this.opts.log.info(
          { runs: left.length, timeoutMs },
          'drain timeout passed; handing runs back',
        );
        for (const run of left) run.controller.abort(STOP_REASONS.drain);
      }
      await allDone;
    }
    await this.opts.completions.flush();
  }

  /** Runs holding a slot, for heartbeats. */
  runningSnapshot(): HeartbeatV1['running'] {
    return [...this.running.values()].map((r) => ({
      workloadId: r.assignment.workloadId,
      attempt: r.assignment.attempt,
      startedAt: r.startedAt,
      ...(r.fraction === undefined ? {} : { fraction: r.fraction }),
    }));
  }

  get runningCount(): number {
    return this.running.size;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  private pump(): void {
    while (!this.draining && this.running.size < this.opts.slots && this.queue.length > 0) {
      const a = this.queue.shift()!;
      const key = runKey(a.workloadId, a.attempt);
      this.queuedKeys.delete(key);
      if (a.deadline !== undefined && Date.parse(a.deadline) < Date.now()) {
        this.opts.log.info(
          { workloadId: a.workloadId, attempt: a.attempt, deadline: a.deadline },
          'assignment start deadline passed; released',
        );
        this.completeUnstarted(a, { outcome: 'released' });
        continue;
      }
      const span = startRunSpan(a, this.opts.workerId, this.traces.get(a));
      let freed!: () => void;
      const slotFree = new Promise<void>((resolve) => (freed = resolve));
      const run: SlotRun = {
        assignment: a,
        traceparent: span.traceparent ?? this.traces.get(a),
        controller: new AbortController(),
        startedAt: new Date().toISOString(),
        fraction: undefined,
        abandoned: false,
        done: slotFree,
        free: () => {
          if (this.running.get(key) !== run) return;
          this.running.delete(key);
          freed();
          this.pump();
        },
        span,
        ended: false,
        graceTimer: undefined,
      };
      this.running.set(key, run);
      // `done` settles with the slot; a run `execute` still waits on after abandoning it is not waited for.
      run.done = Promise.race([this.execute(run, span), slotFree]);
    }
  }

  /**
   * Gives up a preempted run whose handler ignored its signal past the grace: a handler cannot be
   * killed, so the worker stops waiting for it. The attempt is handed back (`released`, which the
   * scheduler records as the preemption), the slot is freed once that is acked, and whatever the
   * handler still does is published nowhere (the run is `abandoned`: the host drops its progress
   * and logs and refuses its checkpoints, and its completion is not sent).
   */
  private abandon(run: SlotRun, graceMs: number): void {
    run.graceTimer = undefined;
    if (run.ended || run.abandoned) return;
    run.abandoned = true;
    this.opts.log.warn(
      { ...idsOf(run.assignment), graceMs },
      'run still going after its preempt grace; abandoned and handed back',
    );
    runsActive.dec();
    const { workloadId, attempt } = run.assignment;
    const completion: CompletionBody = { workloadId, attempt, outcome: 'released' };
    void this.opts.completions
      .send(completion, run.traceparent)
      .finally(() => run.span.end(completion))
      .then(run.free, (err: unknown) => {
        this.opts.log.error({ err, workloadId, attempt }, 'abandoned run not handed back');
      });
  }

  private async execute(run: SlotRun, span: RunSpan): Promise<void> {
    const { workloadId, attempt } = run.assignment;
    const def = this.opts.definitions.get(run.assignment.type)!;
    let completion: CompletionBody;
    runsActive.inc();
    try {
      completion = await span.around(() => executeRun(this.runDeps, def, run));
    } catch (err) {
      // A bug in the worker, not in the handler (runAttempt maps handler errors itself).
      this.opts.log.error({ err, workloadId, attempt }, 'run failed inside the worker');
      completion = {
        workloadId,
        attempt,
        outcome: 'failed',
        error: {
          message: `worker error: ${(err as Error).message}`,
          code: 'WORKER_ERROR',
          retryable: true,
        },
      };
    }
    run.ended = true;
    clearTimeout(run.graceTimer);
    if (run.abandoned) {
      this.opts.log.info(
        { workloadId, attempt, outcome: completion.outcome },
        'abandoned run ended; its completion is not sent',
      );
      return;
    }
    runsActive.dec();
    try {
      await this.opts.completions.send(completion, run.traceparent);
    } finally {
      span.end(completion);
    }
    if (
      completion.outcome === 'succeeded' ||
      completion.outcome === 'failed' ||
      completion.outcome === 'cancelled'
    ) {
      this.seqs.delete(workloadId);
    }
    run.free();
  }

  private completeUnstarted(
    a: Assignment,
    outcome: Pick<CompletionBody, 'outcome' | 'error'>,
  ): void {
    const body: CompletionBody = { workloadId: a.workloadId, attempt: a.attempt, ...outcome };
    // `finish` waits for it through the batcher's flush.
    void this.opts.completions.send(body, this.traces.get(a));
  }

  private nextSeq(workloadId: string, restoredSeq: number): number {
    const seq = Math.max(restoredSeq, this.seqs.get(workloadId) ?? 0) + 1;
    // Re-inserted so the map's order is by last use; the oldest is dropped past the bound.
    this.seqs.delete(workloadId);
    this.seqs.set(workloadId, seq);
    if (this.seqs.size > MAX_REMEMBERED_SEQS) {
      const oldest = this.seqs.keys().next().value;
      if (oldest !== undefined) this.seqs.delete(oldest);
    }
    return seq;
  }
}
