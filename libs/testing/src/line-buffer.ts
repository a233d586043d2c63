/** The last `maxLines` lines of a process's output, with listeners for new lines. */
export class LineBuffer {
  readonly #maxLines: number;
  readonly #lines: string[] = [];
  readonly #listeners = new Set<(line: string) => void>();
  #partial = '';

  constructor(maxLines = 2000) {
    this.#maxLines = maxLines;
  }

  /** Appends a chunk of output; a line is complete at its newline. */
  push(chunk: string): void {
    const parts = (this.#partial + chunk).split('\n');
    this.#partial = parts.pop() ?? '';
    for (const line of parts) this.#add(line);
  }

  /** Completes a trailing line without a newline (at process exit). */
  flush(): void {
    if (this.#partial === '') return;
    const line = this.#partial;
    this.#partial = '';
    this.#add(line);
  }

  lines(): string[] {
    return this.#partial === '' ? [...this.#lines] : [...this.#lines, this.#partial];
  }

  tail(count = 50): string {
    return this.lines().slice(-count).join('\n');
  }

  text(): string {
    return this.lines().join('\n');
  }

  /** Calls `listener` with every line completed from now on; returns the unsubscribe function. */
  subscribe(listener: (line: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #add(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#maxLines)
      this.#lines.splice(0, this.#lines.length - this.#maxLines);
    for (const listener of this.#listeners) listener(line);
  }
}
