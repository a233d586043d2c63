import { decode, lastToken, validateHttp } from '@niyanta/messages';
import type { EventV1, WorkloadV1 } from '@niyanta/messages';

/** The workload a status event carries, if it is a valid one of workload `id`; else null. */
export function statusWorkload(event: EventV1, id: string): WorkloadV1 | null {
  const candidate = event.workload;
  return candidate !== undefined &&
    validateHttp('workload', candidate).length === 0 &&
    (candidate as WorkloadV1).id === id
    ? (candidate as WorkloadV1)
    : null;
}

/** Called with the workload of a status event, or null when the event carried none usable. */
export type StatusListener = (workloadId: string, workload: WorkloadV1 | null) => void;

/**
 * Waiters for the first status event of given workloads: the scheduler publishes one after it
 * commits a submission, so a POST can answer 201 without polling PostgreSQL in a tight loop.
 * Fed by one core subscription to every event subject, kept open for the process.
 */
export class StatusWaiters {
  private readonly listeners = new Map<string, Set<StatusListener>>();

  /** Listens for status events of `ids` until the returned function is called. */
  watch(ids: Iterable<string>, listener: StatusListener): () => void {
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
      for (const id of watched) {
        const set = this.listeners.get(id);
        set?.delete(listener);
        if (set?.size === 0) this.listeners.delete(id);
      }
    };
  }

  /** How many workloads are awaited (for tests and metrics). */
  get size(): number {
    return this.listeners.size;
  }

  /** Handles one message of `niyanta.events.<id>`; cheap for ids nobody waits for. */
  handle(subject: string, data: Uint8Array): void {
    const id = lastToken(subject);
    if (id === undefined) return;
    const set = this.listeners.get(id);
    if (set === undefined) return;
    const decoded = decode('event', data);
    if (!decoded.ok || decoded.value.kind !== 'status') return;
    const workload = statusWorkload(decoded.value, id);
    for (const listener of [...set]) listener(id, workload);
  }
}
