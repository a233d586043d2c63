/**
 * Whether PENDING workloads may be waiting in PostgreSQL for a free slot. While they may, new
 * submissions are not placed at ingest (they would overtake older, higher-priority work). Set by
 * any commit that leaves a workload PENDING; cleared by a placement cycle that saw every due
 * workload of a type some worker has room for (what it left does not fit now), unless something
 * was marked since it began.
 */
export class Backlog {
  private epoch = 0;
  private waiting = true; // unknown at start: the first cycle finds out

  mark(): void {
    this.waiting = true;
    this.epoch++;
  }

  /** A token for `clear`: clearing is refused if `mark` was called after it was taken. */
  begin(): number {
    return this.epoch;
  }

  clear(token: number): void {
    if (token === this.epoch) this.waiting = false;
  }

  get any(): boolean {
    return this.waiting;
  }
}
