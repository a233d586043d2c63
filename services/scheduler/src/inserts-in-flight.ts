/**
 * Workloads whose ingest transaction is still open, with a promise settled once it ends. A
 * workload placed at ingest may finish its run before its row is committed: its completion then
 * waits for that commit here, in process, instead of being redelivered by the broker later.
 */
export class InsertsInFlight {
  private readonly pending = new Map<string, Promise<unknown>>();

  /** Records `ids` as being inserted until `done` settles (either way). */
  track(ids: readonly string[], done: Promise<unknown>): void {
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    for (const id of ids) this.pending.set(id, settled);
    void settled.then(() => {
      for (const id of ids) if (this.pending.get(id) === settled) this.pending.delete(id);
    });
  }

  /** Whether the workload's insert is still open. */
  has(id: string): boolean {
    return this.pending.has(id);
  }

  /** Resolves once the inserts of all `ids` that are in flight have ended. */
  async wait(ids: readonly string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.pending.get(id)));
  }
}
