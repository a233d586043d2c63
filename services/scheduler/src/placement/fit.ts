/** Resources of a workload or a worker; a missing field counts as 0. */
export interface Resources {
  cpu?: number;
  memoryMb?: number;
  gpu?: number;
}

/** What one worker offers in all (its whole capacity, busy or not). */
export interface Offer {
  cpu: number;
  memoryMb: number;
  gpu: number;
}

/** The pending reason of a workload whose type no live worker handles, as a `format` template. */
export const UNHANDLED_TEMPLATE = 'no live worker handles type "%s"';

/** The resources a workload may need, in the order its reasons name them. */
export const RESOURCES = ['cpu', 'memoryMb', 'gpu'] as const;

/**
 * The fit rule: an offer holds a workload's needs when it offers at least each resource the
 * workload needs. With a worker's whole capacity it says whether that worker could ever take the
 * workload; with what is free on it now, whether it can take it now. Its SQL form, for rows in
 * PostgreSQL, is `fitsAnOffer` in workload-core/statements/unpark-fitting.ts, tested to agree.
 */
export function holds(offer: Offer, needs: Resources): boolean {
  return holdsEach(
    offer.cpu,
    offer.memoryMb,
    offer.gpu,
    needs.cpu ?? 0,
    needs.memoryMb ?? 0,
    needs.gpu ?? 0,
  );
}

/** {@link holds} on plain numbers, for loops over typed arrays (no object per check). */
export function holdsEach(
  offerCpu: number,
  offerMemoryMb: number,
  offerGpu: number,
  cpu: number,
  memoryMb: number,
  gpu: number,
): boolean {
  return cpu <= offerCpu && memoryMb <= offerMemoryMb && gpu <= offerGpu;
}

/** What the live workers handling one type offer in all. */
export interface TypeOffers {
  /** The largest of each resource on any one of them (for the reason a workload fits none). */
  largest: Offer;
  /** Their whole capacities, without those another of them holds (so none is redundant). */
  offers: Offer[];
}

/** A worker as the fit rule sees it; one without a slot can take nothing. */
export interface OfferingWorker {
  capacity: { slots: number } & Offer;
  types: readonly string[];
}

/** The whole capacities of `workers` (those with a slot), by the types they handle. */
export function offersByType(workers: readonly OfferingWorker[]): Map<string, TypeOffers> {
  const all = new Map<string, Offer[]>();
  for (const w of workers) {
    if (w.capacity.slots <= 0) continue;
    const offer = { cpu: w.capacity.cpu, memoryMb: w.capacity.memoryMb, gpu: w.capacity.gpu };
    for (const type of new Set(w.types)) {
      let list = all.get(type);
      if (!list) all.set(type, (list = []));
      list.push(offer);
    }
  }
  const out = new Map<string, TypeOffers>();
  for (const [type, list] of all) {
    const largest = { cpu: 0, memoryMb: 0, gpu: 0 };
    for (const o of list) {
      largest.cpu = Math.max(largest.cpu, o.cpu);
      largest.memoryMb = Math.max(largest.memoryMb, o.memoryMb);
      largest.gpu = Math.max(largest.gpu, o.gpu);
    }
    out.set(type, { largest, offers: undominated(list) });
  }
  return out;
}

/**
 * The offers no other one holds. Sorted largest cpu first (then memoryMb, gpu), an offer that
 * holds another comes before it, so one pass keeps exactly the undominated ones (and one of equals).
 */
function undominated(offers: readonly Offer[]): Offer[] {
  const sorted = [...offers].sort(
    (a, b) => b.cpu - a.cpu || b.memoryMb - a.memoryMb || b.gpu - a.gpu,
  );
  const kept: Offer[] = [];
  for (const o of sorted) if (!kept.some((k) => holds(k, o))) kept.push(o);
  return kept;
}

/**
 * Why no live worker could ever take a workload of `type` that needs `needs`, or null when one
 * could: no live worker handles the type, or none offers all it needs in its whole capacity. Such
 * a workload is parked until a worker that could take it joins.
 */
export function neverFitsReason(
  type: string,
  needs: Resources,
  byType: ReadonlyMap<string, TypeOffers>,
): string | null {
  const offered = byType.get(type);
  if (!offered) return UNHANDLED_TEMPLATE.replace('%s', () => type); // `$&` in a type stays
  for (const r of RESOURCES) {
    const need = needs[r] ?? 0;
    if (need > offered.largest[r])
      return `needs ${r} ${need} but the largest live worker offers ${offered.largest[r]}`;
  }
  for (const o of offered.offers) if (holds(o, needs)) return null;
  // Each resource fits some worker, but no single worker offers them all together.
  return `no live worker handling type "${type}" offers all of its cpu, memoryMb and gpu together`;
}
