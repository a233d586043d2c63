/**
 * A workload someone waits for, as both `@niyanta/client` (`nt.submit` returns a
 * `WorkloadHandle`) and a handler (`ctx.spawn` returns a child) hand it out: its id, and its
 * result once it has ended (rejecting when it failed or was cancelled). Code that only waits for
 * results takes this shape and works with either.
 */
export interface WorkloadRef<R = unknown> {
  readonly id: string;
  /** With `timeoutMs`, rejects (each side with its own timeout error) if it has not ended by then. */
  result(options?: { timeoutMs?: number }): Promise<R>;
}
