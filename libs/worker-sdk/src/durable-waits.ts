import { WorkloadContextError, WorkloadError } from './errors.js';

/** What a durable wait waits for (the scheduler's `workload_waits.kind`). */
export type WaitKind = 'sleep' | 'signal' | 'children';

/** A durable wait as a run asks for it (its call order is added by the SDK). */
export interface WaitRequest {
  kind: WaitKind;
  /** sleep: how long, counted from when the scheduler records the wait. */
  durationMs?: number;
  /** sleep: when it ends (RFC 3339), instead of `durationMs`. */
  until?: string;
  /** signal: the name waited for. */
  signal?: string;
  /** signal, children: give up after this long. */
  timeoutMs?: number;
  /** Kind-specific condition (children). */
  spec?: unknown;
}

/** A started wait, as the attempt reports it: the request and its call order. */
export type StartedWait = WaitRequest & { seq: number };

/** A wait of an earlier attempt that has ended, as the assignment replays it. */
export interface ReplayedWait {
  seq: number;
  kind: WaitKind;
  signal?: string;
  timedOut?: boolean;
  payload?: unknown;
  value?: unknown;
}

/** The longest a wait may last or time out after (one year). */
export const MAX_WAIT_MS = 365 * 24 * 3600 * 1000;

/** Pattern of a signal's name. */
export const SIGNAL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** Throws WorkloadContextError unless `timeoutMs` (of the call `what`) is absent or a wait's. */
export function checkTimeoutMs(what: string, timeoutMs: unknown): void {
  if (
    timeoutMs !== undefined &&
    !(
      typeof timeoutMs === 'number' &&
      Number.isInteger(timeoutMs) &&
      timeoutMs >= 0 &&
      timeoutMs <= MAX_WAIT_MS
    )
  ) {
    throw new WorkloadContextError(
      `${what} timeoutMs must be an integer number of milliseconds from 0 to ${MAX_WAIT_MS}; got ${String(timeoutMs)}.`,
    );
  }
}

/** A `ctx.waitForSignal` or a gather (or another wait with a timeout) ended by its timeout. */
export class WaitTimeoutError extends WorkloadError {
  override name = 'WaitTimeoutError';
  /** The wait's call order in the run. */
  readonly seq: number;
  /** The signal waited for, for a signal wait. */
  readonly signal: string | undefined;

  constructor(wait: { seq: number; kind: WaitKind; signal?: string }) {
    super(
      wait.kind === 'signal'
        ? `signal "${wait.signal ?? ''}" did not arrive before the wait's timeout (wait ${wait.seq})`
        : `${wait.kind} wait ${wait.seq} timed out`,
      { code: 'WAIT_TIMEOUT', retryable: false },
    );
    this.seq = wait.seq;
    this.signal = wait.signal;
  }
}

/**
 * A resumed run's n-th wait call is not the wait recorded as its n-th: the handler did not make
 * the same wait calls in the same order when it ran again.
 */
export class WaitMismatchError extends WorkloadError {
  override name = 'WaitMismatchError';
  constructor(seq: number, called: string, recorded: string) {
    super(
      `wait call ${seq} of this run is ${called}, but the wait recorded as call ${seq} is ${recorded}: a handler must make the same wait calls in the same order each time it runs (keep waits out of branches that depend on checkpointed state or the clock).`,
      { code: 'WAIT_MISMATCH', retryable: false },
    );
  }
}

const describe = (w: { kind: WaitKind; signal?: string | undefined }): string =>
  w.kind === 'signal' ? `a signal wait for "${w.signal ?? ''}"` : `a ${w.kind} wait`;

/**
 * The durable waits of one attempt. Each wait call takes the next call order (`seq`, from 0). A
 * call whose seq an earlier attempt's wait already ended with is answered at once from the
 * replayed outcome; the first that is not ends the attempt: its promise never settles, and
 * {@link DurableWaits.started} resolves with it, so the runner reports the wait and gives the
 * slot back. The run resumes, from its checkpoint, on any worker once the wait ends.
 */
export class DurableWaits {
  #next = 0;
  readonly #replayed: Map<number, ReplayedWait>;
  #started: StartedWait | undefined;
  #onStart!: (wait: StartedWait) => void;
  /** Resolves with the first wait this attempt must really wait for. */
  readonly started: Promise<StartedWait>;

  constructor(replayed: readonly ReplayedWait[] = []) {
    this.#replayed = new Map(replayed.map((w) => [w.seq, w]));
    this.started = new Promise((resolve) => (this.#onStart = resolve));
  }

  /** The wait started by this attempt, if any. */
  get current(): StartedWait | undefined {
    return this.#started;
  }

  /** A wait call: answered from a replayed outcome, or the end of the attempt. */
  wait(request: WaitRequest): Promise<ReplayedWait> {
    const seq = this.#next++;
    const done = this.#replayed.get(seq);
    if (done !== undefined) {
      if (done.kind !== request.kind || (done.kind === 'signal' && done.signal !== request.signal))
        return Promise.reject(new WaitMismatchError(seq, describe(request), describe(done)));
      return Promise.resolve(done);
    }
    // A second wait started alongside the first (Promise.all of two waits): the attempt ends at
    // the first; the resumed run calls both again and waits for this one then.
    if (this.#started === undefined) {
      this.#started = { ...request, seq };
      this.#onStart(this.#started);
    }
    return new Promise<ReplayedWait>(() => {});
  }

  /**
   * Takes the next call's replayed outcome when an earlier attempt ended a wait of `kind` there,
   * for a helper that waited then but has nothing to wait for now (a gather of children that have
   * since ended): the calls after it keep their order. Says whether it took one.
   */
  skipReplayed(kind: WaitKind): boolean {
    if (this.#replayed.get(this.#next)?.kind !== kind) return false;
    this.#next++;
    return true;
  }

  /** `ctx.sleep(ms)`: resolves at once for `ms <= 0` (still counting as a call). */
  async sleep(ms: number): Promise<void> {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms > MAX_WAIT_MS) {
      throw new WorkloadContextError(
        `sleep(ms) needs a finite number of milliseconds up to ${MAX_WAIT_MS}; got ${String(ms)}.`,
      );
    }
    if (ms <= 0) {
      this.#next++;
      return;
    }
    await this.wait({ kind: 'sleep', durationMs: Math.ceil(ms) });
  }

  /** `ctx.sleepUntil(time)`: resolves at once for a time already past (still counting as a call). */
  async sleepUntil(time: Date | string | number): Promise<void> {
    const at = time instanceof Date ? time.getTime() : new Date(time).getTime();
    if (!Number.isFinite(at)) {
      throw new WorkloadContextError(
        `sleepUntil(time) needs a Date, an RFC 3339 string or epoch milliseconds; got ${String(time)}.`,
      );
    }
    if (at <= Date.now()) {
      // A replayed call whose time has since passed returns at once all the same.
      if (!this.#replayed.has(this.#next)) {
        this.#next++;
        return;
      }
    }
    await this.wait({ kind: 'sleep', until: new Date(at).toISOString() });
  }

  /** `ctx.waitForSignal(name, { timeoutMs })`: the signal's payload, or WaitTimeoutError. */
  async waitForSignal(name: string, options: { timeoutMs?: number } = {}): Promise<unknown> {
    if (typeof name !== 'string' || !SIGNAL_NAME_PATTERN.test(name)) {
      throw new WorkloadContextError(
        `waitForSignal(name) needs a name of letters, digits and _ . : - (at most 128, starting with a letter or digit); got ${JSON.stringify(name)}.`,
      );
    }
    const { timeoutMs } = options;
    checkTimeoutMs('waitForSignal', timeoutMs);
    const done = await this.wait({
      kind: 'signal',
      signal: name,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    if (done.timedOut === true) throw new WaitTimeoutError(done);
    return done.payload ?? null;
  }
}
