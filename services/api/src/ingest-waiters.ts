import { SUBJECTS, decode, uuidv7, validateHttp } from '@niyanta/messages';
import type { WorkloadV1 } from '@niyanta/messages';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';

/** `candidate` if it is a valid workload with id `id` (as the HTTP answer it becomes), else null. */
export function validWorkload(candidate: unknown, id: string): WorkloadV1 | null {
  return candidate !== undefined &&
    validateHttp('workload', candidate).length === 0 &&
    (candidate as WorkloadV1).id === id
    ? (candidate as WorkloadV1)
    : null;
}

/** Called with a workload from an ingest notice, or null when the notice's copy was unusable. */
export type IngestListener = (workloadId: string, workload: WorkloadV1 | null) => void;

/**
 * Waiters for the ingest notices of given workloads, so a POST can answer 201 without polling
 * PostgreSQL. Each API instance has a notice subject of its own, named in a header of every
 * submission it publishes; the scheduler sends one notice per ingest batch to it. (The API
 * used to read every status event of every workload for this: three deliveries per workload,
 * whoever submitted it, for the first one alone.)
 */
export class IngestWaiters {
  /** Where the scheduler sends this instance's notices (INGEST_NOTIFY_HEADER's value). */
  readonly subject = SUBJECTS.ingested(uuidv7());
  private readonly listeners = new Map<string, Set<IngestListener>>();

  /** Feeds these waiters from `nc`: one subscription to this instance's notices, for the process. */
  listen(nc: NatsConnection): Subscription {
    return nc.subscribe(this.subject, {
      callback: (err, msg) => {
        if (!err) this.handle(msg.data);
      },
    });
  }

  /** Listens for the notices of `ids` until the returned function is called. */
  watch(ids: Iterable<string>, listener: IngestListener): () => void {
    const watched: string[] = [];
    for (const id of ids) {
      let set = this.listeners.get(id);
      if (set === undefined) {
        set = new Set();
        this.listeners.set(id, set);
      }
      set.add(listener);
      watched.push(id);
    }
    return () => {
      for (const id of watched) this.unwatch(id, listener);
    };
  }

  /** Stops `listener` listening for `id` alone (its other ids stay watched). */
  unwatch(id: string, listener: IngestListener): void {
    const set = this.listeners.get(id);
    set?.delete(listener);
    if (set?.size === 0) this.listeners.delete(id);
  }

  /** How many workloads are awaited (for tests and metrics). */
  get size(): number {
    return this.listeners.size;
  }

  /**
   * Handles one notice. One that fails its schema answers nothing: the waits it was for look
   * PostgreSQL up after their pause. Each workload is validated as the HTTP answer it becomes.
   */
  handle(data: Uint8Array): void {
    const decoded = decode('ingested', data);
    if (!decoded.ok) return;
    for (const candidate of decoded.value.workloads) {
      const id = (candidate as { id?: unknown }).id;
      if (typeof id !== 'string') continue;
      const set = this.listeners.get(id);
      if (set === undefined) continue;
      const workload = validWorkload(candidate, id);
      for (const listener of [...set]) listener(id, workload);
    }
  }
}
