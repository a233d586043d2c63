/** A token bucket: holds up to `burst` tokens, refilled at `perSecond`. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    now: number = Date.now(),
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.perSecond);
    this.updatedAt = now;
  }

  /** Takes one token if there is one. */
  take(now: number = Date.now()): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whole tokens left. */
  remaining(now: number = Date.now()): number {
    this.refill(now);
    return Math.floor(this.tokens);
  }

  /** Seconds (whole, at least 1) until one token is there. */
  secondsUntilToken(now: number = Date.now()): number {
    this.refill(now);
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond));
  }

  /** Seconds (whole) until the bucket is full again. */
  secondsUntilFull(now: number = Date.now()): number {
    this.refill(now);
    return Math.ceil((this.burst - this.tokens) / this.perSecond);
  }
}
