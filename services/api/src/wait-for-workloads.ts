import { toWorkload } from '@niyanta/db';
import type { WorkloadV1 } from '@niyanta/messages';
import type { SubmitContext } from './submit-context.js';
import type { IngestListener } from './ingest-waiters.js';
import { findWorkloads } from './workload-store.js';

/**
 * First pause before a PostgreSQL lookup while waiting for submissions to be ingested; it
 * doubles up to POLL_MAX_INTERVAL_MS. The ingest notices normally answer long before: the
 * lookups are the fallback, and must not multiply under load (one query per waiting request).
 */
export const POLL_INTERVAL_MS = 200;
export const POLL_MAX_INTERVAL_MS = 1_000;

/** A published submission: its id, and its idempotency key (the row may carry another id). */
export interface SubmitTarget {
  id: string;
  idempotencyKey?: string;
  /** The broker dropped ours as a duplicate: the row may be in PostgreSQL already. */
  duplicate?: boolean;
}

/**
 * Publishes the targets' submissions with `publish` (which may point a duplicate target at the
 * broker's copy), then waits up to `timeoutMs` for each to be in PostgreSQL, answered by its
 * ingest notice. PostgreSQL is looked up (one query for every target still missing) when a
 * notice carries no usable workload, when a pause from POLL_INTERVAL_MS (growing) passes
 * without a notice for these targets, once more at the end, and at once for a duplicate (its
 * notice may be past, or gone to another instance). While notices keep coming the scheduler is
 * working through the targets: no lookups then. Returns the workload of each target found, in target order.
 */
export async function publishAndWait(
  ctx: SubmitContext,
  targets: readonly SubmitTarget[],
  timeoutMs: number,
  publish: () => Promise<void>,
): Promise<(WorkloadV1 | undefined)[]> {
  // Watched before publishing: a notice read from the socket with the PubAck (or before it is
  // handled) is kept instead of missed, which would leave the answer to a PostgreSQL lookup.
  const early = new Map<string, WorkloadV1 | null>();
  const keep: IngestListener = (id, workload) => {
    if (!early.has(id) || workload !== null) early.set(id, workload);
  };
  const unwatchEarly = ctx.waiters.watch(
    targets.map((t) => t.id),
    keep,
  );
  try {
    await publish();
    return await waitForWorkloads(ctx, targets, timeoutMs, early);
  } finally {
    unwatchEarly();
  }
}

/** The wait of {@link publishAndWait}, given the notices heard while publishing. */
async function waitForWorkloads(
  ctx: SubmitContext,
  targets: readonly SubmitTarget[],
  timeoutMs: number,
  early: ReadonlyMap<string, WorkloadV1 | null>,
): Promise<(WorkloadV1 | undefined)[]> {
  const found = new Array<WorkloadV1 | undefined>(targets.length);
  const indexById = new Map<string, number[]>();
  const indexByKey = new Map<string, number>();
  targets.forEach((t, i) => {
    const same = indexById.get(t.id);
    if (same === undefined) indexById.set(t.id, [i]);
    else same.push(i);
    if (t.idempotencyKey !== undefined) indexByKey.set(t.idempotencyKey, i);
  });
  let missing = targets.length;
  const record = (i: number, workload: WorkloadV1) => {
    if (found[i] !== undefined) return;
    found[i] = workload;
    missing -= 1;
  };

  let lookNow = targets.some((t) => t.duplicate === true);
  let heard = false;
  let wake: (() => void) | undefined;
  const listener: IngestListener = (id, workload) => {
    heard = true;
    if (workload === null) {
      // The notice carries no usable workload, yet the row is committed: look it up now.
      lookNow = true;
      wake?.();
      return;
    }
    for (const i of indexById.get(id) ?? []) record(i, workload);
    ctx.waiters.unwatch(id, listener); // one notice is all a target needs
    if (missing === 0) wake?.();
  };
  const unwatch = ctx.waiters.watch(indexById.keys(), listener);
  for (const [id, workload] of early) if (indexById.has(id)) listener(id, workload);
  const deadline = Date.now() + timeoutMs;
  let pauseMs = POLL_INTERVAL_MS;
  try {
    while (missing > 0) {
      const last = Date.now() >= deadline;
      if (lookNow || last) {
        lookNow = false;
        await lookup(ctx, targets, found, indexById, indexByKey, record);
      }
      if (missing === 0 || last) break;
      heard = false;
      const waitMs = Math.min(pauseMs, Math.max(0, deadline - Date.now()));
      pauseMs = Math.min(POLL_MAX_INTERVAL_MS, pauseMs * 2);
      const timedOut = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), waitMs);
        wake = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
      wake = undefined;
      // Silence for a whole pause: a notice may have been missed (or the scheduler is behind).
      if (timedOut && !heard) lookNow = true;
    }
  } finally {
    unwatch();
  }
  return found;
}

async function lookup(
  ctx: SubmitContext,
  targets: readonly SubmitTarget[],
  found: readonly (WorkloadV1 | undefined)[],
  indexById: Map<string, number[]>,
  indexByKey: Map<string, number>,
  record: (i: number, workload: WorkloadV1) => void,
): Promise<void> {
  const ids: string[] = [];
  const keys: string[] = [];
  targets.forEach((t, i) => {
    if (found[i] !== undefined) return;
    ids.push(t.id);
    if (t.idempotencyKey !== undefined) keys.push(t.idempotencyKey);
  });
  try {
    const rows = await findWorkloads(ctx.connections.db(), ctx.tenant, ids, keys);
    for (const row of rows) {
      const workload = toWorkload(row);
      for (const i of indexById.get(row.id) ?? []) record(i, workload);
      // Same key, other id: the key was used before the broker's dedupe window; that row wins.
      const byKey = row.idempotency_key === null ? undefined : indexByKey.get(row.idempotency_key);
      if (byKey !== undefined) record(byKey, workload);
    }
  } catch (err) {
    // The submission is durable in the broker whatever PostgreSQL does: answer 202 rather than fail.
    ctx.log.warn(
      { err, count: ids.length },
      'looking up submitted workloads failed; will answer 202 if it persists',
    );
  }
}
