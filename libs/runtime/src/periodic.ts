import type { Logger } from 'pino';

/** A repeating task; `stop()` cancels the next run and waits for the one in flight. */
export interface Periodic {
  stop(): Promise<void>;
}

/**
 * Runs `task` every `intervalMs` (after `firstDelayMs`), never overlapping itself: the next run is
 * scheduled when the previous one ends. A failed run (a rejection, or a throw before the task
 * returns its promise) is logged and the schedule goes on.
 */
export function every(opts: {
  name: string;
  intervalMs: number;
  firstDelayMs?: number;
  task: () => Promise<void>;
  log: Logger;
}): Periodic {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      // Called inside the chain: a task that throws before returning its promise is a failed
      // run too, not an exception that escapes the timer.
      inFlight = Promise.resolve()
        .then(() => opts.task())
        .then(
          () => undefined,
          (err: unknown) => {
            try {
              opts.log.error(
                { err, task: opts.name },
                'periodic task failed; trying again next interval',
              );
            } catch {
              // A logger that throws must not end the schedule.
            }
          },
        );
      void inFlight.finally(() => {
        inFlight = undefined;
        schedule(opts.intervalMs);
      });
    }, delayMs);
  };
  schedule(opts.firstDelayMs ?? opts.intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
