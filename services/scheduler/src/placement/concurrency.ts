/** A queued workload's concurrency key, as the gate sees it. */
export interface Keyed {
  id: string;
  tenant: string;
  concurrency_key: string | null;
  concurrency_limit: number | null;
  ordered: boolean;
}

/** What PostgreSQL says of one key of a tenant now. */
export interface KeyState {
  /** Its SCHEDULED and RUNNING workloads. */
  active: number;
  /** Ordered keys: the oldest workload of the key not yet ended (PENDING, SCHEDULED, RUNNING, PAUSED, WAITING). */
  oldestOpen?: string;
}

/** The map key of a tenant's concurrency key. */
export const keyOf = (tenant: string, key: string): string => `${tenant}\u0000${key}`;

/**
 * Concurrency keys in one placement pass: at most `concurrency_limit` of a tenant's workloads with
 * a key are SCHEDULED or RUNNING; of an ordered key only its oldest unfinished workload may start,
 * and only when nothing else of the key is active. Counts each one it lets through, so a pass
 * never places past a limit. Pure: the caller reads the states.
 */
export class ConcurrencyGate {
  private readonly states: Map<string, KeyState>;

  constructor(states: ReadonlyMap<string, KeyState>) {
    this.states = new Map([...states].map(([k, s]) => [k, { ...s }]));
  }

  /** Adds the state of a key this gate did not know yet; a known key keeps its count. */
  learn(key: string, state: KeyState): void {
    if (!this.states.has(key)) this.states.set(key, { ...state });
  }

  /** Why `w` must wait now, or null (and it is counted as active). */
  admit(w: Keyed): string | null {
    if (w.concurrency_key === null) return null;
    const key = keyOf(w.tenant, w.concurrency_key);
    const state = this.states.get(key) ?? { active: 0 };
    const limit = w.concurrency_limit ?? 1;
    if (w.ordered && state.oldestOpen !== undefined && state.oldestOpen !== w.id)
      return `ordered concurrency key "${w.concurrency_key}": waits for ${state.oldestOpen} to end`;
    if (state.active >= limit)
      return `concurrency key "${w.concurrency_key}" is at its limit ${limit}`;
    this.states.set(key, { ...state, active: state.active + 1 });
    return null;
  }
}
