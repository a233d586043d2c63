import {
  MAX_CHILD_INDEX,
  childWorkloadId,
  isWorkloadType,
  validateMessage,
} from '@niyanta/messages';
import type { Labels, Placement, Requirements, WorkloadRef } from '@niyanta/messages';
import { WaitTimeoutError, checkTimeoutMs } from './durable-waits.js';
import { WorkerSdkError, WorkloadContextError } from './errors.js';

/** How a child is submitted besides its type and input (as in a submission, plus `detached`). */
export interface SpawnOptions {
  /** 0–1000, higher runs first. Default: the parent's priority. */
  priority?: number;
  /** Attempts before the child fails for good (1–100). Default 3. */
  maxAttempts?: number;
  /** Per-attempt time limit in seconds. */
  timeoutSeconds?: number;
  requirements?: Requirements;
  labels?: Labels;
  placement?: Placement;
  /** Not cancelled when the parent is cancelled. Default false: a cancel of the parent cancels it. */
  detached?: boolean;
}

/** A workload definition, or anything with its `type` and `run` (for the child's result type). */
export interface SpawnableDefinition<I, R> {
  readonly type: string;
  run(ctx: never, input: I): R | PromiseLike<R>;
}

/** One child of `ctx.spawnMany`. */
export interface SpawnItem {
  type: string;
  input: unknown;
  options?: SpawnOptions;
}

/**
 * A child workload, as `ctx.spawn` returns it: the `WorkloadRef` shape of `@niyanta/client`'s
 * handle (`id`, `result()`), plus its call index.
 */
export interface ChildWorkload<R = unknown> extends WorkloadRef<R> {
  /** 0-based call index among the run's spawns: its id is derived from the parent's id and it. */
  readonly index: number;
  readonly type: string;
  /**
   * The child's result once it has ended, waiting durably (no slot held). With `timeoutMs`,
   * throws `WaitTimeoutError` if it has not ended that long after the wait was recorded (the
   * child runs on).
   */
  result(options?: GatherOptions): Promise<R>;
}

/** Options of `child.result()` and `ctx.gather()`. */
export interface GatherOptions {
  /** Give up (WaitTimeoutError) when the children have not all ended this long after the wait began. */
  timeoutMs?: number;
}

/** A child as the host publishes it (`niyanta.spawn.<parentId>`). */
export interface SpawnedChild extends Omit<SpawnOptions, 'detached'> {
  index: number;
  type: string;
  input: unknown;
  detached?: boolean;
}

/** What the assignment says of a child spawned by an earlier attempt. */
export interface KnownChild {
  index: number;
  status: string;
  result?: unknown;
  error?: { message: string; code: string; retryable: boolean; details?: unknown };
}

/** What spawning and waiting for children needs: the worker's publish, the run's durable waits. */
export interface ChildrenHost {
  /** Publishes children; resolves once the broker holds them. */
  spawn(children: SpawnedChild[]): Promise<void>;
  /**
   * A durable wait (kind `children`) until every child in `indices` has ended, or `timeoutMs` has
   * passed: the attempt gives its slot back and the run resumes, with the children's results in
   * its assignment. Resolves only when an earlier attempt's wait at this call order has ended (a
   * replay), with its call order and whether its timeout ended it.
   */
  wait(indices: readonly number[], timeoutMs?: number): Promise<ChildrenWaitEnd>;
  /** A replayed children wait at this call order is taken without waiting (see DurableWaits). */
  skipReplayed(): void;
}

/** How a children wait ended. */
export interface ChildrenWaitEnd {
  seq: number;
  timedOut: boolean;
}

/** `child.result()` of a child that failed or was cancelled. */
export class ChildWorkloadError extends WorkerSdkError {
  override name = 'ChildWorkloadError';
  constructor(
    readonly childId: string,
    readonly index: number,
    readonly status: string,
    readonly error: KnownChild['error'] | undefined,
  ) {
    super(
      `child workload ${childId} (spawn ${index}) ended ${status}${error === undefined ? '' : `: ${error.code}: ${error.message}`}`,
    );
  }
}

/** The error code of `child.result()` for a child whose record is gone. */
export const CHILD_GONE = 'CHILD_GONE';

const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/** A spawn message around one child, to check the child by the message's schema. */
const SPAWN_FRAME = {
  schemaVersion: 1,
  id: '00000000-0000-7000-8000-000000000000',
  time: '2026-01-01T00:00:00.000Z',
  parentId: '00000000-0000-7000-8000-000000000000',
  attempt: 1,
  workerId: 'sdk',
} as const;

/**
 * The children of one attempt. Each spawn call takes the next call indices at once, in call
 * order (so `Promise.all` of spawns numbers them as written), and each child's id is derived from
 * (parent id, index). A child the assignment already lists (spawned by an earlier attempt) is not
 * published again; the rest are, and the scheduler skips any it already has. `result()` answers
 * at once for a child the assignment lists as ended; otherwise the `result()` calls of one turn
 * of the event loop become one wait for all of them (`Promise.all(children.map(c => c.result()))`
 * is one wait, not one per child).
 */
export class Children {
  #next = 0;
  readonly #known = new Map<number, KnownChild>();
  /** This turn's batches, by the `timeoutMs` their calls give. */
  readonly #batches = new Map<
    number | undefined,
    { indices: Set<number>; done: Promise<ChildrenWaitEnd> }
  >();

  constructor(
    private readonly parentId: string,
    known: readonly KnownChild[] | undefined,
    private readonly host: ChildrenHost | undefined,
    private readonly assertRunning: (what: string) => void,
  ) {
    for (const k of known ?? []) this.#known.set(k.index, k);
  }

  async spawn(items: readonly SpawnItem[]): Promise<ChildWorkload[]> {
    this.assertRunning('spawn');
    const host = this.host;
    if (host === undefined)
      throw new WorkloadContextError('spawn() needs a worker that runs the attempt: none here.');
    if (!Array.isArray(items) || items.length === 0)
      throw new WorkloadContextError('spawnMany(items) needs a non-empty array of {type, input}.');
    const children = items.map((item, i) => this.#child(item, i));
    if (this.#next + children.length - 1 > MAX_CHILD_INDEX)
      throw new WorkloadContextError(`a run spawns at most ${MAX_CHILD_INDEX + 1} children.`);
    const first = this.#next;
    this.#next += children.length;
    children.forEach((c, i) => (c.index = first + i));
    const unknown = children.filter((c) => !this.#known.has(c.index));
    if (unknown.length > 0) await host.spawn(unknown);
    return children.map((c) => this.#handle(c.index, c.type));
  }

  /** The results of `children`, in order, once all have ended (one wait for those still running). */
  async gather<R>(children: readonly WorkloadRef<R>[], options?: GatherOptions): Promise<R[]> {
    return Promise.all(children.map((c) => c.result(options)));
  }

  #child(item: SpawnItem, i: number): SpawnedChild {
    const where = `spawn item ${i}`;
    if (typeof item !== 'object' || item === null)
      throw new WorkloadContextError(`${where} must be an object {type, input, options?}.`);
    const { type, input, options = {} } = item;
    if (typeof type !== 'string' || !isWorkloadType(type))
      throw new WorkloadContextError(
        `${where}: type ${JSON.stringify(type) ?? String(type)} is not a workload type name.`,
      );
    if (typeof options !== 'object' || options === null)
      throw new WorkloadContextError(`${where}: options must be an object.`);
    let copy: unknown;
    try {
      // A copy, as a checkpoint takes: the handler may go on changing its own value.
      copy = JSON.parse(JSON.stringify(input ?? null)) as unknown;
    } catch (err) {
      throw new WorkloadContextError(
        `${where}: the input must be JSON-serialisable: ${(err as Error).message}.`,
        { cause: err },
      );
    }
    const child: SpawnedChild = { index: 0, type, input: copy };
    const o = options;
    if (o.priority !== undefined) child.priority = o.priority;
    if (o.maxAttempts !== undefined) child.maxAttempts = o.maxAttempts;
    if (o.timeoutSeconds !== undefined) child.timeoutSeconds = o.timeoutSeconds;
    if (o.requirements !== undefined) child.requirements = o.requirements;
    if (o.labels !== undefined) child.labels = o.labels;
    if (o.placement !== undefined) child.placement = o.placement;
    if (o.detached !== undefined) child.detached = o.detached;
    // The spawn message's own rule, said of this call: `options.priority must be <= 1000`.
    const errors = validateMessage('spawn', { ...SPAWN_FRAME, children: [child] });
    if (errors.length > 0) {
      const said = errors.map((e) => {
        const field = e.path.replace(/^\/children\/0\/?/, '');
        const name = field === 'type' || field.startsWith('input') ? field : `options.${field}`;
        return `${name.replace(/\//g, '.')} ${e.message}`;
      });
      throw new WorkloadContextError(`${where}: ${said.join('; ')}.`);
    }
    return child;
  }

  #handle(index: number, type: string): ChildWorkload {
    const id = childWorkloadId(this.parentId, index);
    return { id, index, type, result: (options) => this.#result(id, index, options) };
  }

  async #result(id: string, index: number, options: GatherOptions = {}): Promise<unknown> {
    const { timeoutMs } = options;
    checkTimeoutMs('result()/gather()', timeoutMs);
    const isEnded = (k: KnownChild | undefined): k is KnownChild =>
      k !== undefined && ENDED.has(k.status);
    // Even a child known to have ended joins the turn's batch: a resumed run's batch whose
    // children have all ended since takes the wait it made then at this call order, if it made
    // one, before anything after it calls a wait.
    const end = await this.#join(index, isEnded(this.#known.get(index)), timeoutMs);
    const known = this.#known.get(index);
    if (!isEnded(known) && end.timedOut)
      throw new WaitTimeoutError({ seq: end.seq, kind: 'children' });
    // The wait the join took had ended (a replay): every child it named had ended then, or had
    // no row left to read (the scheduler counts a child missing that long as gone).
    if (!isEnded(known))
      throw new ChildWorkloadError(id, index, 'FAILED', {
        code: CHILD_GONE,
        message: 'the child has no record left (deleted); its outcome is unknown',
        retryable: false,
      });
    if (known.status === 'COMPLETED') return known.result ?? null;
    throw new ChildWorkloadError(id, index, known.status, known.error);
  }

  /**
   * Joins the batch of this turn of the event loop (one per `timeoutMs` given, in the order of
   * their first calls): once the turn's `result()` calls are in, ONE wait for those of them not
   * known to have ended, with that timeout, or, when all have, the replayed children wait at this
   * call order if there is one. Resolves when the wait is over (a replay).
   */
  #join(index: number, ended: boolean, timeoutMs: number | undefined): Promise<ChildrenWaitEnd> {
    const host = this.host;
    if (host === undefined)
      return Promise.reject(new WorkloadContextError('result() needs a worker: none here.'));
    let batch = this.#batches.get(timeoutMs);
    if (batch === undefined) {
      const indices = new Set<number>();
      const done = new Promise<ChildrenWaitEnd>((resolve, reject) => {
        setImmediate(() => {
          this.#batches.delete(timeoutMs);
          if (indices.size === 0) {
            host.skipReplayed();
            resolve({ seq: -1, timedOut: false });
            return;
          }
          host
            .wait(
              [...indices].sort((a, b) => a - b),
              timeoutMs,
            )
            .then(resolve, reject);
        });
      });
      this.#batches.set(timeoutMs, (batch = { indices, done }));
    }
    if (!ended) batch.indices.add(index);
    return batch.done;
  }
}

/** Call indices as inclusive ranges (`[[0, 9999]]` for a whole fan-out): a wait's compact spec. */
export function indexRanges(indices: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const i of indices) {
    const last = ranges.at(-1);
    if (last !== undefined && i === last[1] + 1) last[1] = i;
    else ranges.push([i, i]);
  }
  return ranges;
}
