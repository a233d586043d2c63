import { isActiveStatus } from '@niyanta/messages';
import type { WorkerStatus } from './workers-store.js';

/** A SCHEDULED or RUNNING workload, as the scheduler's table has it. */
export interface ActiveWorkload {
  id: string;
  attempt: number;
  status: 'SCHEDULED' | 'RUNNING';
  workerId: string;
  /** Time since its last status change (the placement or the start), by the database's clock. */
  sinceMs: number;
}

/** A worker's row: status, last heartbeat and the runs that heartbeat listed. */
export interface WorkerRuns {
  id: string;
  status: WorkerStatus;
  lastHeartbeatAtMs: number;
  running: readonly { workloadId: string; attempt: number }[];
}

/** The current attempt of a workload a worker lists. */
export interface CurrentAttempt {
  id: string;
  attempt: number;
  status: string;
  workerId: string | null;
}

/** An attempt the scheduler should send back to PENDING. */
export interface LostAttempt {
  workerId: string;
  workloadId: string;
  attempt: number;
  status: ActiveWorkload['status'];
  reason: string;
}

/** A run a worker should stop: its attempt is no longer the current one. */
export interface StaleRun {
  workerId: string;
  workloadId: string;
  attempt: number;
  reason: string;
}

/** What one reconciliation round found. */
export interface Findings {
  lost: LostAttempt[];
  stale: StaleRun[];
}

/** Timings of reconciliation, in ms. */
export interface ReconcileTimings {
  /** A RUNNING attempt may be missing from its worker's heartbeats this long after it started. */
  graceMs: number;
  /** A SCHEDULED attempt may wait this long for its worker to start it. */
  startDeadlineMs: number;
  /** A finding still true this long after it was reported is reported again. */
  repeatMs: number;
}

const ALIVE: readonly string[] = ['ACTIVE', 'DRAINING'];

interface Suspicion {
  /** The worker's last heartbeat when the attempt was first found missing. */
  heartbeatAtMs: number;
  firstSeenMs: number;
  reportedAtMs: number | undefined;
}

const key = (workerId: string, workloadId: string, attempt: number) =>
  `${workerId}/${workloadId}/${attempt}`;

/**
 * Compares what the scheduler believes runs where (its table) with what workers say they run
 * (their heartbeats), over successive rounds. An attempt is reported lost only once it has been
 * missing past its grace period from two different heartbeats of a live worker (one stale row
 * read right after the run started proves nothing), or, for a worker that is no longer alive,
 * for a whole grace period of rounds. Each finding is reported once, then again after `repeatMs`
 * if it still holds. Pure apart from that memory; the caller reads and publishes.
 */
export class Reconciler {
  private readonly suspects = new Map<string, Suspicion>();
  private readonly stops = new Map<string, number>();

  constructor(private readonly timings: ReconcileTimings) {}

  /** One round: what to report now. Call `reported` for what was then published. */
  round(input: {
    nowMs: number;
    workers: readonly WorkerRuns[];
    active: readonly ActiveWorkload[];
    /** Rows of every workload some live worker lists (any status). */
    current: ReadonlyMap<string, CurrentAttempt>;
  }): Findings {
    const { nowMs } = input;
    const { graceMs, startDeadlineMs, repeatMs } = this.timings;
    const workers = new Map(input.workers.map((w) => [w.id, w]));
    // Each worker's listed runs as a set, built once: a search of its list per active workload
    // cost n² (0.5–1 s of the event loop per round at 10,000 runs on one worker).
    const listed = new Set<string>();
    for (const worker of input.workers) {
      for (const r of worker.running) listed.add(key(worker.id, r.workloadId, r.attempt));
    }
    const lost: LostAttempt[] = [];
    const seenSuspects = new Set<string>();
    for (const w of input.active) {
      const worker = workers.get(w.workerId);
      const alive = worker !== undefined && ALIVE.includes(worker.status);
      const k = key(w.workerId, w.id, w.attempt);
      if (alive && listed.has(k)) continue;
      const limit = w.status === 'SCHEDULED' && alive ? startDeadlineMs : graceMs;
      if (w.sinceMs < limit) continue;
      seenSuspects.add(k);
      const heartbeatAtMs = worker?.lastHeartbeatAtMs ?? -1;
      const s = this.suspects.get(k);
      if (s === undefined) {
        this.suspects.set(k, { heartbeatAtMs, firstSeenMs: nowMs, reportedAtMs: undefined });
        continue;
      }
      const confirmed = alive ? heartbeatAtMs > s.heartbeatAtMs : nowMs - s.firstSeenMs >= graceMs;
      if (!confirmed) continue;
      if (s.reportedAtMs !== undefined && nowMs - s.reportedAtMs < repeatMs) continue;
      lost.push({
        workerId: w.workerId,
        workloadId: w.id,
        attempt: w.attempt,
        status: w.status,
        reason: lostReason(w, worker, alive, limit),
      });
    }
    for (const k of this.suspects.keys()) if (!seenSuspects.has(k)) this.suspects.delete(k);

    const stale: StaleRun[] = [];
    const seenStops = new Set<string>();
    for (const worker of input.workers) {
      if (!ALIVE.includes(worker.status)) continue;
      for (const r of worker.running) {
        const why = staleReason(worker.id, r, input.current.get(r.workloadId));
        if (why === undefined) continue;
        const k = key(worker.id, r.workloadId, r.attempt);
        seenStops.add(k);
        const sentAt = this.stops.get(k);
        if (sentAt !== undefined && nowMs - sentAt < repeatMs) continue;
        stale.push({
          workerId: worker.id,
          workloadId: r.workloadId,
          attempt: r.attempt,
          reason: why,
        });
      }
    }
    for (const k of this.stops.keys()) if (!seenStops.has(k)) this.stops.delete(k);
    return { lost, stale };
  }

  /** Records that these findings were published (they are repeated only after `repeatMs`). */
  reported(findings: Partial<Findings>, nowMs: number): void {
    for (const l of findings.lost ?? []) {
      const s = this.suspects.get(key(l.workerId, l.workloadId, l.attempt));
      if (s) s.reportedAtMs = nowMs;
    }
    for (const r of findings.stale ?? [])
      this.stops.set(key(r.workerId, r.workloadId, r.attempt), nowMs);
  }
}

function lostReason(
  w: ActiveWorkload,
  worker: WorkerRuns | undefined,
  alive: boolean,
  limitMs: number,
): string {
  if (!worker) return `worker ${w.workerId} is unknown to the health monitor`;
  if (!alive) return `worker ${w.workerId} is ${worker.status}`;
  if (w.status === 'SCHEDULED') return `not started by worker ${w.workerId} within ${limitMs} ms`;
  return `missing from the heartbeats of worker ${w.workerId} for more than ${limitMs} ms after it started`;
}

/** Why a run a worker lists is not current, or undefined when it is (or may yet be). */
export function staleReason(
  workerId: string,
  run: { workloadId: string; attempt: number },
  row: CurrentAttempt | undefined,
): string | undefined {
  if (row === undefined) return `workload ${run.workloadId} does not exist`;
  // A newer attempt than the row's: its placement may not have committed yet.
  if (run.attempt > row.attempt) return undefined;
  if (run.attempt < row.attempt)
    return `attempt ${run.attempt} is stale: the workload is on attempt ${row.attempt}`;
  if (!isActiveStatus(row.status))
    return `attempt ${run.attempt} is no longer running: the workload is ${row.status}`;
  if (row.workerId !== workerId)
    return `attempt ${run.attempt} belongs to worker ${row.workerId ?? 'none'}, not ${workerId}`;
  return undefined;
}
