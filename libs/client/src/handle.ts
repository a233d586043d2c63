import type { WorkloadRef, WorkloadV1 } from '@niyanta/messages';
import { WorkloadCancelledError, WorkloadFailedError, WorkloadTimeoutError } from './errors.js';
import { workloadEvents } from './event-stream.js';
import type { ReconnectOptions } from './event-stream.js';
import { readSse } from './sse.js';
import type { Transport } from './transport.js';
import type { CheckpointInfo, LogLine, PlacementExplanation, WorkloadEvent } from './types.js';

/** What a handle needs of its client. */
export interface HandleContext {
  transport: Transport;
  reconnect: Required<ReconnectOptions>;
}

/** Options of `result()`. */
export interface ResultOptions {
  /** Give up waiting (WorkloadTimeoutError) after this long; the workload keeps running. */
  timeoutMs?: number;
  /** Stop waiting when this aborts (rejects with its reason). */
  signal?: AbortSignal;
}

/**
 * One workload: await its result, follow it, operate it. `R` is its result's type. Its `id` and
 * `result()` are the `WorkloadRef` shape a handler's `ctx.spawn` also returns.
 */
export class WorkloadHandle<R = unknown> implements WorkloadRef<R> {
  constructor(
    private readonly ctx: HandleContext,
    /** The workload's id. */
    readonly id: string,
    /** The workload as the call that made this handle answered (undefined for `nt.workload(id)`). */
    readonly initial?: WorkloadV1,
    /** True when the API answered an earlier submission with the same idempotency key. */
    readonly replayed = false,
  ) {}

  private get path(): string {
    return `/v1/workloads/${encodeURIComponent(this.id)}`;
  }

  /** The workload as it is now. */
  get(options: { signal?: AbortSignal } = {}): Promise<WorkloadV1> {
    return this.ctx.transport.json({
      method: 'GET',
      path: this.path,
      resendable: true,
      signal: options.signal,
    });
  }

  /**
   * Status changes, progress and log lines, live (Server-Sent Events). Starts with the current
   * status; reconnects after a dropped connection or an API restart without repeating a status;
   * ends after the final status.
   */
  events(options: { signal?: AbortSignal } = {}): AsyncGenerator<WorkloadEvent> {
    return workloadEvents(this.ctx.transport, this.id, {
      signal: options.signal,
      reconnect: this.ctx.reconnect,
      awaitingIngest: this.initial?.status === 'SUBMITTED',
    });
  }

  /**
   * The result once the workload is COMPLETED; throws WorkloadFailedError or
   * WorkloadCancelledError (with the workload and its error) when it ends otherwise.
   */
  async result(options: ResultOptions = {}): Promise<R> {
    const signals: AbortSignal[] = [];
    if (options.signal !== undefined) signals.push(options.signal);
    const timeout =
      options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
    if (timeout !== undefined) signals.push(timeout);
    const signal = signals.length === 0 ? undefined : AbortSignal.any(signals);
    let last: WorkloadV1 | undefined;
    try {
      for await (const e of this.events(signal === undefined ? {} : { signal })) {
        if (e.type !== 'status') continue;
        last = e.workload;
        if (e.toStatus === 'COMPLETED') return e.workload.result as R;
        if (e.toStatus === 'FAILED') throw new WorkloadFailedError(e.workload);
        if (e.toStatus === 'CANCELLED') throw new WorkloadCancelledError(e.workload);
      }
    } catch (err) {
      if (timeout?.aborted && !options.signal?.aborted)
        throw new WorkloadTimeoutError(this.id, options.timeoutMs ?? 0, last);
      throw err;
    }
    // events() ends only after a final status or by throwing.
    throw new Error(`the event stream of workload ${this.id} ended without a final status`);
  }

  /** Asks the scheduler to cancel it (202: the change arrives as a status event). */
  cancel(reason?: string): Promise<WorkloadV1> {
    return this.command('cancel', reason);
  }

  /** Asks the scheduler to pause it (a running attempt checkpoints and stops). */
  pause(reason?: string): Promise<WorkloadV1> {
    return this.command('pause', reason);
  }

  /** Asks the scheduler to resume a PAUSED workload. */
  resume(reason?: string): Promise<WorkloadV1> {
    return this.command('resume', reason);
  }

  /**
   * Sends the signal `name` with `payload` (`POST /v1/workloads/{id}/signals/{name}`): a
   * `ctx.waitForSignal(name)` of the run returns it, at once if it waits already, else when it
   * starts waiting (the signal is kept). Answers the workload as it is now (202).
   */
  signal(name: string, payload?: unknown): Promise<WorkloadV1> {
    return this.ctx.transport.json({
      method: 'POST',
      path: `${this.path}/signals/${encodeURIComponent(name)}`,
      body: { payload: payload ?? null },
      resendable: false,
    });
  }

  /** Why it waits, or where it was placed and why (`GET /v1/workloads/{id}/placement`). */
  placement(options: { signal?: AbortSignal } = {}): Promise<PlacementExplanation> {
    return this.ctx.transport.json<PlacementExplanation>({
      method: 'GET',
      path: `${this.path}/placement`,
      resendable: true,
      signal: options.signal,
    });
  }

  /** The newest `limit` log lines (default 1000), oldest first. */
  async logs(options: { limit?: number; signal?: AbortSignal } = {}): Promise<LogLine[]> {
    const page = await this.ctx.transport.json<{ items: LogLine[] }>({
      method: 'GET',
      path: `${this.path}/logs`,
      query: { limit: options.limit },
      resendable: true,
      signal: options.signal,
    });
    return page.items;
  }

  /** Every log line from the start, then new ones as they come, until `signal` aborts. */
  async *followLogs(options: { signal?: AbortSignal } = {}): AsyncGenerator<LogLine> {
    const res = await this.ctx.transport.send({
      method: 'GET',
      path: `${this.path}/logs`,
      query: { follow: true },
      accept: 'text/event-stream',
      resendable: true,
      signal: options.signal,
    });
    if (res.body === null) return;
    for await (const m of readSse(res.body)) {
      if (m.event !== 'log') continue;
      const { at, stream, line, attempt } = JSON.parse(m.data) as LogLine;
      yield { at, stream, line, ...(attempt === undefined ? {} : { attempt }) };
    }
  }

  /** Metadata of its stored checkpoints. */
  async checkpoints(options: { signal?: AbortSignal } = {}): Promise<CheckpointInfo[]> {
    const page = await this.ctx.transport.json<{ items: CheckpointInfo[] }>({
      method: 'GET',
      path: `${this.path}/checkpoints`,
      resendable: true,
      signal: options.signal,
    });
    return page.items;
  }

  private command(name: 'cancel' | 'pause' | 'resume', reason?: string): Promise<WorkloadV1> {
    return this.ctx.transport.json({
      method: 'POST',
      path: `${this.path}/${name}`,
      ...(reason === undefined ? {} : { body: { reason } }),
      resendable: false,
    });
  }
}
