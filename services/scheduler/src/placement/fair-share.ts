/** Resources a tenant's active runs take, or a fleet offers; `slots` counts runs. */
export interface ShareVector {
  slots: number;
  cpu: number;
  memoryMb: number;
  gpu: number;
}

/** What a queued workload adds to its tenant's share once placed. */
export interface Shareable {
  tenant: string;
  requirements: { cpu?: number; memoryMb?: number; gpu?: number };
}

export const NO_SHARE: ShareVector = { slots: 0, cpu: 0, memoryMb: 0, gpu: 0 };

const RESOURCES = ['slots', 'cpu', 'memoryMb', 'gpu'] as const;

/**
 * Dominant resource fairness: the largest fraction of any resource of the fleet (`capacity`)
 * that `usage` takes, divided by the tenant's weight. A resource the fleet does not offer counts
 * nothing.
 */
export function dominantShare(usage: ShareVector, capacity: ShareVector, weight: number): number {
  let share = 0;
  for (const r of RESOURCES) {
    if (capacity[r] > 0) share = Math.max(share, usage[r] / capacity[r]);
  }
  return share / Math.max(weight, Number.MIN_VALUE);
}

/** The fleet's whole capacity (live workers), the denominator of every share. */
export function fleetCapacity(
  workers: readonly { capacity: { slots: number; cpu: number; memoryMb: number; gpu: number } }[],
): ShareVector {
  const out = { ...NO_SHARE };
  for (const w of workers) {
    if (w.capacity.slots <= 0) continue;
    for (const r of RESOURCES) out[r] += w.capacity[r];
  }
  return out;
}

/**
 * The order free capacity is offered in across tenants (DRF): each next workload is the head of
 * the tenant whose dominant share (what it runs, plus what this order already gave it, divided
 * by its weight) is lowest; ties go to the tenant with fewer running slots, then the smaller id.
 * `heads` holds each tenant's queue in its own order (priority, then age); that order is kept.
 * Every workload of `heads` is in the result, so a placer going down it in order skips what does
 * not fit and leaves nothing idle that some tenant could use (work-conserving). Concurrency keys
 * play no part: a tenant's share is the same however its work is keyed. Pure.
 */
export function fairOrder<T extends Shareable>(
  heads: ReadonlyMap<string, readonly T[]>,
  usage: ReadonlyMap<string, ShareVector>,
  weights: ReadonlyMap<string, number>,
  capacity: ShareVector,
): T[] {
  const tenants = [...heads.keys()]
    .filter((t) => heads.get(t)!.length > 0)
    .sort()
    .map((tenant) => {
      const used = { ...(usage.get(tenant) ?? NO_SHARE) };
      const weight = weights.get(tenant) ?? 1;
      return { tenant, used, weight, next: 0, share: dominantShare(used, capacity, weight) };
    });
  const total = tenants.reduce((n, t) => n + heads.get(t.tenant)!.length, 0);
  const out: T[] = [];
  while (out.length < total) {
    let best: (typeof tenants)[number] | undefined;
    for (const t of tenants) {
      if (t.next >= heads.get(t.tenant)!.length) continue;
      if (
        best === undefined ||
        t.share < best.share ||
        (t.share === best.share && t.used.slots < best.used.slots)
      )
        best = t;
    }
    const w = heads.get(best!.tenant)![best!.next++]!;
    out.push(w);
    best!.used.slots += 1;
    best!.used.cpu += w.requirements.cpu ?? 0;
    best!.used.memoryMb += w.requirements.memoryMb ?? 0;
    best!.used.gpu += w.requirements.gpu ?? 0;
    best!.share = dominantShare(best!.used, capacity, best!.weight);
  }
  return out;
}
