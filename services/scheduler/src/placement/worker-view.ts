import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Database } from '@niyanta/db';
import { SUBJECTS, decode, isSubjectToken, isWorkloadType } from '@niyanta/messages';
import type { HeartbeatV1 } from '@niyanta/messages';
import type { Kysely } from 'kysely';
import type { Logger } from '../logger.js';
import type { PlacementWorker } from './place-workloads.js';

/** What the scheduler knows of one worker, from its heartbeats. */
export interface WorkerState extends PlacementWorker {
  status: HeartbeatV1['status'];
  labels: Record<string, string>;
  zone: string | null;
  taints: NonNullable<HeartbeatV1['taints']>;
  costPerHour: number | null;
  spot: boolean;
  /** Local clock (ms) when last heard from; the worker's own clock is not trusted. */
  lastSeenMs: number;
  /** Slots not running anything, by its own count. */
  freeSlots: number;
}

const ACTIVE = 'ACTIVE';

/**
 * After a worker is forgotten (declared dead), heartbeats received this soon are taken as ones it
 * sent before it died, still in flight or queued here: they must not bring it back into
 * placement. A worker that really beats again is seen once this has passed.
 */
export const REMOVED_QUARANTINE_MS = 1_000;

/**
 * Live worker capacity for placement: a core subscription to every heartbeat (a missed one only
 * delays placement until the next), seeded at start from the health monitor's `workers` table so
 * a restarted scheduler places at once.
 */
export class WorkerView {
  private readonly workers = new Map<string, WorkerState>();
  /** Local clock (ms) when each forgotten worker was removed, within the quarantine. */
  private readonly removedAt = new Map<string, number>();
  private sub: Subscription | undefined;
  private done: Promise<void> | undefined;

  constructor(
    private readonly opts: {
      nc: NatsConnection;
      db: Kysely<Database>;
      heartbeatTimeoutMs: number;
      log: Logger;
      /** A worker appeared or reported more free slots. */
      onCapacity: () => void;
      /**
       * A worker became live, offers more than before (capacity or types), or changed a trait
       * static placement filters read (labels, zone, taints, cost, spot): workloads of `types`
       * that no worker could take may fit it. Called before `onCapacity`.
       */
      onGrowth?: (types: readonly string[]) => void;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  async start(): Promise<void> {
    this.sub = this.opts.nc.subscribe(SUBJECTS.heartbeatAll);
    const sub = this.sub;
    this.done = (async () => {
      for await (const m of sub) {
        const decoded = decode('heartbeat', m.data);
        if (!decoded.ok) {
          this.opts.log.warn(
            { subject: m.subject, reason: decoded.reason },
            'invalid heartbeat ignored',
          );
          continue;
        }
        this.onHeartbeat(decoded.value);
      }
    })();
    const rows = await this.opts.db
      .selectFrom('workers')
      .selectAll()
      .where('status', '=', ACTIVE)
      .execute();
    const loadedTypes = new Set<string>();
    for (const r of rows) {
      if (this.workers.has(r.id) || !isSubjectToken(r.id)) continue; // a heartbeat is newer
      const types = workloadTypes(r.types);
      for (const t of types) loadedTypes.add(t);
      this.workers.set(r.id, {
        id: r.id,
        status: ACTIVE,
        capacity: r.capacity,
        labels: r.labels,
        zone: r.zone,
        taints: r.taints,
        costPerHour: r.cost_per_hour,
        spot: r.spot,
        types,
        freeSlots: r.free_slots,
        lastSeenMs: new Date(r.heard_at).getTime(), // receipt time: a worker's clock may lag
      });
    }
    this.opts.log.info({ workers: this.workers.size }, 'worker view loaded');
    if (this.workers.size > 0) {
      this.opts.onGrowth?.([...loadedTypes]);
      this.opts.onCapacity();
    }
  }

  /** Applies one heartbeat; exposed for tests and for the subscription. */
  onHeartbeat(hb: HeartbeatV1): void {
    // Its id becomes a subject token (assign.<id>): one that cannot be is never placed on.
    if (!isSubjectToken(hb.workerId)) return;
    if (hb.status === 'STOPPED') {
      this.remove(hb.workerId);
      return;
    }
    const removed = this.removedAt.get(hb.workerId);
    if (removed !== undefined) {
      if (this.now() - removed < REMOVED_QUARANTINE_MS) return;
      this.removedAt.delete(hb.workerId);
    }
    const before = this.workers.get(hb.workerId);
    const freeSlots = Math.max(0, hb.capacity.slots - hb.running.length);
    const types = workloadTypes(hb.types);
    this.workers.set(hb.workerId, {
      id: hb.workerId,
      status: hb.status,
      capacity: hb.capacity,
      labels: hb.labels,
      zone: hb.zone ?? null,
      taints: hb.taints ?? [],
      costPerHour: hb.costPerHour ?? null,
      spot: hb.spot ?? false,
      types,
      freeSlots,
      lastSeenMs: this.now(),
    });
    if (hb.status !== ACTIVE) return;
    const wasLive = before !== undefined && this.isLive(before, this.now());
    const joined = !wasLive || before.status !== ACTIVE;
    if (
      joined ||
      grew(before, hb.capacity, types) ||
      traitsChanged(before, this.workers.get(hb.workerId)!)
    )
      this.opts.onGrowth?.(types);
    if (joined || freeSlots > before.freeSlots) this.opts.onCapacity();
  }

  /**
   * Forgets a worker (STOPPED heartbeat or declared dead); a heartbeat received after
   * {@link REMOVED_QUARANTINE_MS} brings it back.
   */
  remove(workerId: string): void {
    this.workers.delete(workerId);
    this.removedAt.set(workerId, this.now());
    // Bounded: entries past the quarantine are dropped whenever another worker is removed.
    for (const [id, at] of this.removedAt) {
      if (this.now() - at >= REMOVED_QUARANTINE_MS) this.removedAt.delete(id);
    }
  }

  private isLive(w: WorkerState, nowMs: number): boolean {
    return w.status === ACTIVE && nowMs - w.lastSeenMs <= this.opts.heartbeatTimeoutMs;
  }

  /** Workers that take work now: ACTIVE and heard from within the heartbeat timeout. */
  live(): WorkerState[] {
    const nowMs = this.now();
    const out: WorkerState[] = [];
    for (const w of this.workers.values()) if (this.isLive(w, nowMs)) out.push(w);
    return out;
  }

  /** Stops listening. */
  async stop(): Promise<void> {
    this.sub?.unsubscribe();
    await this.done;
  }
}

/**
 * The advertised types a workload can have (`isWorkloadType`), once each. Anything else (a NUL,
 * a space, 1 MB of text) names no workload, and could break the statements the types are sent in.
 */
function workloadTypes(advertised: readonly string[]): string[] {
  return [...new Set(advertised.filter(isWorkloadType))];
}

/** Whether a worker now offers more than it did: more of a resource, or a type it did not handle. */
function grew(
  before: PlacementWorker,
  capacity: PlacementWorker['capacity'],
  types: readonly string[],
): boolean {
  const was = before.capacity;
  if (
    capacity.slots > was.slots ||
    capacity.cpu > was.cpu ||
    capacity.memoryMb > was.memoryMb ||
    capacity.gpu > was.gpu
  )
    return true;
  return types.some((t) => !before.types.includes(t));
}

/**
 * Whether a worker's traits that static placement filters read changed (labels, zone, taints,
 * cost, spot): a workload parked because no worker passed them may pass now.
 */
function traitsChanged(before: PlacementWorker, now: PlacementWorker): boolean {
  if ((before.zone ?? null) !== (now.zone ?? null)) return true;
  if ((before.costPerHour ?? null) !== (now.costPerHour ?? null)) return true;
  if ((before.spot ?? false) !== (now.spot ?? false)) return true;
  if (!sameRecord(before.labels ?? {}, now.labels ?? {})) return true;
  const bt = before.taints ?? [];
  const nt = now.taints ?? [];
  return (
    bt.length !== nt.length ||
    bt.some(
      (t, i) => t.key !== nt[i]!.key || t.value !== nt[i]!.value || t.effect !== nt[i]!.effect,
    )
  );
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
