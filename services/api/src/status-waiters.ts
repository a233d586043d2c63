import { SUBJECTS, lastToken, validateHttp } from '@niyanta/messages';
import type { EventV1, WorkloadV1 } from '@niyanta/messages';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The workload a status event carries, if it is a valid one of workload `id`; else null. */
export function statusWorkload(event: Pick<EventV1, 'workload'>, id: string): WorkloadV1 | null {
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
 * Fed by one core subscription to every event subject, kept open for the process: one
 * subscription per awaited workload instead cost the API more CPU than the unwanted later events
 * it spared (measured at 200 submissions/s).
 */
export class StatusWaiters {
  private readonly listeners = new Map<string, Set<StatusListener>>();

  /** Feeds these waiters from `nc`: one subscription to every event subject, for the process. */
  listen(nc: NatsConnection): Subscription {
    return nc.subscribe(SUBJECTS.eventsAll, {
      callback: (err, msg) => {
        if (!err) this.handle(msg.subject, msg.data);
      },
    });
  }

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
      for (const id of watched) this.unwatch(id, listener);
    };
  }

  /** Stops `listener` listening for `id` alone (its other ids stay watched). */
  unwatch(id: string, listener: StatusListener): void {
    const set = this.listeners.get(id);
    set?.delete(listener);
    if (set?.size === 0) this.listeners.delete(id);
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
    // Only the kind and the workload are used, and the workload is validated as the HTTP answer
    // it becomes: no second ajv run over the whole envelope (a hot path: one per submission).
    const event = parseJsonObject(data);
    if (event?.kind !== 'status') return;
    const workload = statusWorkload(event, id);
    for (const listener of [...set]) listener(id, workload);
  }
}

function parseJsonObject(data: Uint8Array): Partial<EventV1> | undefined {
  try {
    const value: unknown = JSON.parse(utf8.decode(data));
    return typeof value === 'object' && value !== null ? (value as Partial<EventV1>) : undefined;
  } catch {
    return undefined;
  }
}
