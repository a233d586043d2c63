import { UNHANDLED_TEMPLATE } from './placement/fit.js';
import type { PlacementWorker } from './placement/place-workloads.js';
import type { UsageLedger } from './placement/usage-ledger.js';

/** The types live workers handle, those of them with a free slot by the ledger, and the free slots. */
export interface TypeAvailability {
  live: ReadonlySet<string>;
  open: ReadonlySet<string>;
  freeSlots: number;
}

/**
 * The pending reasons of a type no live worker can take now, as `format` templates: the sweep
 * writes them in SQL, ingest as rows are inserted, and both must give the same text, or each
 * would rewrite what the other wrote. `queued` is what ingest says of a workload it leaves behind
 * older waiting ones while its type has a free slot (they go first); the sweep leaves it as it is
 * when the type fills up, since it still waits behind them.
 */
export const BLOCKED_REASON_TEMPLATES = {
  full: 'no free slot on the live worker(s) that handle type "%s"',
  unhandled: UNHANDLED_TEMPLATE,
  queued: 'waiting behind older workloads for a slot on the live worker(s) that handle type "%s"',
} as const;

export function typeAvailability(
  workers: readonly PlacementWorker[],
  ledger: Pick<UsageLedger, 'usage'>,
): TypeAvailability {
  const usage = ledger.usage();
  const live = new Set<string>();
  const open = new Set<string>();
  let freeSlots = 0;
  for (const w of workers) {
    for (const t of w.types) live.add(t);
    const slots = w.capacity.slots - (usage.get(w.id)?.slots ?? 0);
    if (slots <= 0) continue;
    freeSlots += slots;
    for (const t of w.types) open.add(t);
  }
  return { live, open, freeSlots };
}

/** Why a workload of `type` waits, when no live worker with a free slot handles it; else null. */
export function blockedReason(
  type: string,
  availability: Pick<TypeAvailability, 'live' | 'open'>,
): string | null {
  if (availability.open.has(type)) return null;
  const template = availability.live.has(type)
    ? BLOCKED_REASON_TEMPLATES.full
    : BLOCKED_REASON_TEMPLATES.unhandled;
  return reasonOf(template, type);
}

/** Why a workload of `type` waits when older workloads wait before it: its type's reason, or `queued`. */
export function queuedReason(type: string, availability: TypeAvailability): string {
  return blockedReason(type, availability) ?? reasonOf(BLOCKED_REASON_TEMPLATES.queued, type);
}

/** A reason template of {@link BLOCKED_REASON_TEMPLATES} filled in with `type`. */
export function reasonOf(template: string, type: string): string {
  return template.replace('%s', () => type); // a function: `$&` in a type stays as it is
}
