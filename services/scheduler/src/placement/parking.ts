import type { Database } from '@niyanta/db';
import type { Kysely } from 'kysely';
import { UNPARK_SCAN_ROWS, unparkFitting } from '../workload-core/statements/unpark-fitting.js';
import { offersByType } from './fit.js';
import type { OfferingWorker } from './fit.js';

/**
 * Keeps parked workloads in step with the fleet. A workload is parked when no live worker could
 * ever take it; it must come back to the queue once one that could is live. Every time a worker
 * joins or grows (`grew`, from the worker view), the parked rows of its types are looked at again,
 * a bounded statement per placement cycle (`step`). A decision to park made on an older fleet
 * may commit after that look began: whoever parks reports the fleet generation it decided on
 * (`parked`), and its types are looked at again if the fleet grew since.
 */
export class Parking {
  private generation = 0;
  /** Types whose parked rows are due a look, with the last id looked at; insertion order is the turn. */
  private readonly due = new Map<string, { after: string | null }>();
  private stepping = false;

  /** `onDue` is called when some type's parked rows become due a look: a placement cycle does it. */
  constructor(private readonly onDue: () => void = () => undefined) {}

  /** The fleet's generation: take it with the live workers that a decision to park is made on. */
  get current(): number {
    return this.generation;
  }

  /** Whether some type's parked rows are due a look. */
  get pending(): boolean {
    return this.due.size > 0;
  }

  /** A worker that handles `types` joined, or offers more than before. */
  grew(types: Iterable<string>): void {
    this.generation++;
    this.look(types);
  }

  /** Rows of `types` were parked on the fleet of `generation` and are committed. */
  parked(generation: number, types: Iterable<string>): void {
    if (generation !== this.generation) this.look(types);
  }

  private look(types: Iterable<string>): void {
    // A new entry, so that a statement in flight for the type cannot move its cursor on.
    let any = false;
    for (const type of types) {
      this.due.delete(type);
      this.due.set(type, { after: null });
      any = true;
    }
    if (any) this.onDue();
  }

  /**
   * Un-parks, in one bounded statement, parked rows of the next due type that a live worker's
   * whole capacity holds. One step runs at a time: `stepped` is false when another was running or
   * nothing was due.
   */
  async step(
    db: Kysely<Database>,
    workers: readonly OfferingWorker[],
  ): Promise<{ stepped: boolean; unparked: number }> {
    const next = this.due.entries().next();
    if (this.stepping || next.done) return { stepped: false, unparked: 0 };
    const [type, entry] = next.value;
    const offers = offersByType(workers).get(type)?.offers;
    if (!offers) {
      // No live worker handles it: none of its rows fits. A worker that joins brings it back.
      this.due.delete(type);
      return { stepped: true, unparked: 0 };
    }
    this.stepping = true;
    try {
      const done = await unparkFitting(db, type, offers, entry.after);
      if (this.due.get(type) === entry) {
        this.due.delete(type);
        // Read to the end of its rows, or its turn again after the other types.
        if (done.scanned >= UNPARK_SCAN_ROWS) this.due.set(type, { after: done.last });
      }
      return { stepped: true, unparked: done.unparked };
    } finally {
      this.stepping = false;
    }
  }
}
