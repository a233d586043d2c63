/**
 * Rows read through a loader, each trusted for `ttlMs` (misses too, so a flood of unknown ids
 * costs one read per id per TTL). Concurrent reads of one id share one load.
 */
export class TtlCache<T> {
  private readonly entries = new Map<string, { value: T | undefined; at: number }>();
  private readonly loading = new Map<string, Promise<T | undefined>>();

  constructor(
    private readonly ttlMs: number,
    private readonly load: (id: string) => Promise<T | undefined>,
    /** Past this many entries the cache starts over, bounding its memory. */
    private readonly maxEntries = 10_000,
  ) {}

  async get(id: string): Promise<T | undefined> {
    const hit = this.entries.get(id);
    if (hit !== undefined && Date.now() - hit.at < this.ttlMs) return hit.value;
    let pending = this.loading.get(id);
    if (pending === undefined) {
      pending = this.load(id).then(
        (value) => {
          if (this.entries.size >= this.maxEntries) this.entries.clear();
          this.entries.set(id, { value, at: Date.now() });
          return value;
        },
        (err: unknown) => {
          throw err;
        },
      );
      const settled = pending.finally(() => this.loading.delete(id));
      settled.catch(() => undefined); // the caller of get() sees the error
      this.loading.set(id, pending);
    }
    return pending;
  }

  /** Forgets `id` on this instance (after a write here); other instances wait out the TTL. */
  delete(id: string): void {
    this.entries.delete(id);
  }
}
