import type { Logger } from 'pino';
import type { Setting } from './config.js';

/**
 * `WORKLOAD_RETENTION_DAYS`, for the services that delete what an ended workload leaves: days
 * after its end that a workload, its events and its checkpoints are kept (0: for ever).
 */
export const RETENTION_SETTING = {
  WORKLOAD_RETENTION_DAYS: { kind: 'int', default: 30, min: 0, max: 36_500 },
} as const satisfies Record<string, Setting>;

/** Days that rejected submissions and dead letters are kept. */
export const RECORD_RETENTION_DAYS = 7;
/** Rows one retention statement deletes at most: each holds its row locks only that long. */
export const RETENTION_BATCH = 500;
/** Batches one retention run deletes at most; the rest waits for the next interval. */
export const RETENTION_BATCHES_PER_RUN = 200;
/** How often each service's retention runs. */
export const RETENTION_INTERVAL_MS = 10 * 60_000;

/** One kind of row a retention run deletes: `step` deletes at most `batch` rows, returns how many. */
export interface RetentionStep {
  name: string;
  step: (batch: number) => Promise<number>;
}

/**
 * Runs each step batch after batch until a batch deletes fewer than `batch` rows or
 * `maxBatches` ran. A failed batch is logged and ends that step for this run (the next interval
 * goes on from there); the other steps still run. Returns the rows deleted per step.
 */
export async function runRetention(
  steps: readonly RetentionStep[],
  log: Logger,
  opts: { batch?: number; maxBatches?: number } = {},
): Promise<Record<string, number>> {
  const batch = opts.batch ?? RETENTION_BATCH;
  const maxBatches = opts.maxBatches ?? RETENTION_BATCHES_PER_RUN;
  const out: Record<string, number> = {};
  for (const { name, step } of steps) {
    let deleted = 0;
    for (let i = 0; i < maxBatches; i++) {
      let n: number;
      try {
        n = await step(batch);
      } catch (err) {
        log.error({ err, step: name, deleted }, 'retention batch failed; the next run goes on');
        break;
      }
      deleted += n;
      if (n < batch) break;
    }
    out[name] = deleted;
    if (deleted > 0) log.info({ step: name, deleted }, 'retention deleted rows');
  }
  return out;
}
