/**
 * Collects items and hands them to `handle` in batches, one batch at a time: under load the next
 * batch fills while the current one is written, at low load an item is handled on the next tick.
 */
export class Batcher<T> {
  private queue: T[] = [];
  private running: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handle: (items: T[]) => Promise<void>,
    private readonly opts: {
      maxBatch: number;
      /** Called when `handle` throws; the next batch waits for it. Must not throw. */
      onError: (err: unknown, items: T[]) => void | Promise<void>;
    },
  ) {}

  /** Queues items; never throws (errors go to `onError`). */
  push(...items: T[]): void {
    this.queue.push(...items);
    this.running ??= this.drain();
  }

  /** Items waiting or in flight. */
  get size(): number {
    return this.queue.length;
  }

  /** Resolves once everything queued so far has been handled. */
  async idle(): Promise<void> {
    if (!this.running) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private async drain(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      try {
        await this.handle(batch);
      } catch (err) {
        await this.opts.onError(err, batch);
      }
    }
    this.running = undefined;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
