import { toWorkload } from '@niyanta/db';
import type { WorkloadV1 } from '@niyanta/messages';
import type { ApiContext } from './api-context.js';
import { findWorkloads } from './workload-store.js';

/**
 * First pause before a PostgreSQL lookup while waiting for submissions to be ingested; it
 * doubles up to POLL_MAX_INTERVAL_MS. The status event normally wakes the wait long before: the
 * lookups are the fallback, and must not multiply under load (one query per waiting request).
 */
export const POLL_INTERVAL_MS = 200;
export const POLL_MAX_INTERVAL_MS = 1_000;

/** A published submission: its id, and its idempotency key (the row may carry another id). */
export interface SubmitTarget {
  id: string;
  idempotencyKey?: string;
}

/**
 * Waits up to `timeoutMs` for each target to be in PostgreSQL: woken by its first status event,
 * with lookups at growing intervals (from POLL_INTERVAL_MS) and once more at the end as the
 * fallback; a target with an idempotency key is looked up at once (its row may already exist
 * under another id). Returns the workload of each target found, in target order.
 */
export async function waitForWorkloads(
  ctx: ApiContext,
  targets: readonly SubmitTarget[],
  timeoutMs: number,
): Promise<(WorkloadV1 | undefined)[]> {
  const found: (WorkloadV1 | undefined)[] = targets.map(() => undefined);
  const indexById = new Map<string, number[]>();
  const indexByKey = new Map<string, number>();
  targets.forEach((t, i) => {
    indexById.set(t.id, [...(indexById.get(t.id) ?? []), i]);
    if (t.idempotencyKey !== undefined) indexByKey.set(t.idempotencyKey, i);
  });
  let missing = targets.length;
  const record = (i: number, workload: WorkloadV1) => {
    if (found[i] !== undefined) return;
    found[i] = workload;
    missing -= 1;
  };

  let wake: (() => void) | undefined;
  const unwatch = ctx.waiters.watch(indexById.keys(), (id, workload) => {
    if (workload !== null) for (const i of indexById.get(id) ?? []) record(i, workload);
    // Without a usable workload in the event the row is committed anyway: look it up now.
    wake?.();
  });
  const deadline = Date.now() + timeoutMs;
  let pauseMs = POLL_INTERVAL_MS;
  let woken = targets.some((t) => t.idempotencyKey !== undefined);
  try {
    for (;;) {
      if (missing === 0) break;
      if (woken || Date.now() >= deadline) {
        await lookup(ctx, targets, found, indexById, indexByKey, record);
      }
      if (missing === 0 || Date.now() >= deadline) break;
      woken = true; // every later round (an event's wake-up, a timer, the deadline) looks up
      const waitMs = Math.min(pauseMs, Math.max(0, deadline - Date.now()));
      pauseMs = Math.min(POLL_MAX_INTERVAL_MS, pauseMs * 2);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    unwatch();
  }
  return found;
}

async function lookup(
  ctx: ApiContext,
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
