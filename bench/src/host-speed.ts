import { createHash } from 'node:crypto';
import { placeWorkloads } from '@niyanta/scheduler';
import { nowMs } from './db-clock.js';
import { placementInputs } from './scenarios/placement.js';
import { roundTo, summarize } from './stats.js';

/**
 * How fast one core of the host ran just then, by two fixed pieces of work. The project's
 * machines run the same code up to 2–3× slower in some hours than in others; with these beside
 * them, figures from different hours can be told apart from changes in the code.
 */
export interface HostSpeed {
  /** µs per decision of the placement function on 1,000 workers × 2,000 pending (JavaScript). */
  placementMicros: number;
  /** SHA-256 over 16 MiB, MB/s (native code). */
  sha256MBps: number;
}

/** Measured before and after a run: the host can change speed in the middle of one. */
export interface HostSpeedSpan {
  before: HostSpeed;
  after: HostSpeed;
}

const PLACEMENT_WORKERS = 1_000;
const PLACEMENT_PENDING = 2_000;
const HASHED_BYTES = 16 * 2 ** 20;
const WARM_UPS = 2;
const ROUNDS = 5;

/** The median of `ROUNDS` timings of `work` (ms), after `WARM_UPS` untimed ones. */
function medianMs(work: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < WARM_UPS + ROUNDS; i++) {
    const t = nowMs();
    work();
    if (i >= WARM_UPS) times.push(nowMs() - t);
  }
  return summarize(times).p50;
}

/** Takes about half a second on the project's machines. */
export function measureHostSpeed(): HostSpeed {
  const { workers, pending, usage } = placementInputs(PLACEMENT_WORKERS, PLACEMENT_PENDING);
  const placementMs = medianMs(() => placeWorkloads(pending, workers, usage));
  const data = Buffer.alloc(HASHED_BYTES, 0x5a);
  const hashMs = medianMs(() => createHash('sha256').update(data).digest());
  return {
    placementMicros: roundTo((placementMs * 1000) / PLACEMENT_PENDING, 2),
    sha256MBps: Math.round(HASHED_BYTES / 1e6 / (hashMs / 1000)),
  };
}

/** "host speed: placement 5.6 → 5.7 µs per decision, SHA-256 480 → 470 MB/s (before → after)". */
export function describeHostSpeed(span: HostSpeedSpan): string {
  const { before, after } = span;
  return (
    `host speed: placement ${before.placementMicros} → ${after.placementMicros} µs per decision, ` +
    `SHA-256 ${before.sha256MBps} → ${after.sha256MBps} MB/s (before → after the run; lower µs and more MB/s is a faster hour)`
  );
}
