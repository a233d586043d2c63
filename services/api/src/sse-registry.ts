/** Open Server-Sent Events streams, so shutdown can end them instead of waiting on clients. */
export class SseRegistry {
  private readonly closers = new Set<() => void>();

  /** Registers a stream's close function; returns the function that unregisters it. */
  add(close: () => void): () => void {
    this.closers.add(close);
    return () => this.closers.delete(close);
  }

  get size(): number {
    return this.closers.size;
  }

  closeAll(): void {
    for (const close of [...this.closers]) close();
    this.closers.clear();
  }
}
