/** A trailing-edge throttle: at most one call per interval, and a pending call always runs. */
export interface Throttle {
  /** Runs `fn` now if the interval has passed since the last run, else once it has. */
  trigger(): void;
  /** Runs a pending call now (if any). */
  flush(): void;
  /** Drops a pending call. */
  cancel(): void;
}

/** Throttles `fn` to one call per `intervalMs`; calls in between collapse into one at the end. */
export function createThrottle(intervalMs: number, fn: () => void): Throttle {
  let lastRun = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  const run = (): void => {
    timer = undefined;
    lastRun = Date.now();
    fn();
  };
  return {
    trigger() {
      if (timer !== undefined) return;
      const wait = lastRun + intervalMs - Date.now();
      if (wait <= 0) run();
      else timer = setTimeout(run, wait);
    },
    flush() {
      if (timer === undefined) return;
      clearTimeout(timer);
      run();
    },
    cancel() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
