import { setTimeout as delay } from 'node:timers/promises';
import type { Database } from '@niyanta/db';
import type { Kysely } from 'kysely';
import { BenchAbortedError, ScenarioError } from './errors.js';
import type { Progress } from './progress.js';
import { countPhase } from './workload-rows.js';
import type { PhaseCounts } from './workload-rows.js';

export interface WaitPhaseOptions {
  scenario: string;
  db: Kysely<Database>;
  minId: string;
  tag: string;
  /** How many workloads the phase will have; undefined while submission is still going. */
  expected: () => number | undefined;
  /** Whether the phase is over. */
  done: (counts: PhaseCounts, expected: number) => boolean;
  /** The progress line. */
  describe: (counts: PhaseCounts) => string;
  progress: Progress;
  signal: AbortSignal;
  /** Fail when the counts have not moved for this long. */
  stallMs: number;
  intervalMs?: number;
}

/**
 * Polls the phase's rows until `done`, updating the progress line. Throws `ScenarioError` when
 * nothing moves for `stallMs` (saying where it stopped), `BenchAbortedError` on abort.
 */
export async function waitForPhase(opts: WaitPhaseOptions): Promise<PhaseCounts> {
  let lastKey = '';
  let lastChange = Date.now();
  for (;;) {
    if (opts.signal.aborted) throw new BenchAbortedError({ cause: opts.signal.reason });
    const counts = await countPhase(opts.db, opts.minId, opts.tag);
    opts.progress.update(opts.describe(counts));
    const expected = opts.expected();
    if (expected !== undefined && opts.done(counts, expected)) return counts;
    const key = JSON.stringify(counts);
    if (key !== lastKey) {
      lastKey = key;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > opts.stallMs) {
      throw new ScenarioError(
        opts.scenario,
        `nothing progressed for ${Math.round(opts.stallMs / 1000)} s: ${key} of ${String(expected)} expected. ` +
          'Check the services (their output follows when the bench started them) or raise --stall.',
      );
    }
    // Each poll counts the phase's rows in PostgreSQL: often enough for the progress line, rarely enough
    // not to load the database being measured (figures come from the rows, not from this loop).
    await delay(opts.intervalMs ?? 1000, undefined, { signal: opts.signal }).catch(() => undefined);
  }
}
