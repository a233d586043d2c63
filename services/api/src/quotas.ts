import { sql } from 'kysely';
import { QuotaExceededError, ForbiddenError } from './errors.js';
import type { SubmitContext } from './submit-context.js';

/** Statuses that count against maxPending. */
export const PENDING_QUOTA_STATUSES = ['PENDING', 'SCHEDULED'] as const;

/** How many of `tenant`'s workloads are PENDING or SCHEDULED. */
export async function pendingCount(ctx: SubmitContext): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    select count(*) as n from workloads
    where tenant = ${ctx.tenant} and status in ('PENDING', 'SCHEDULED')`.execute(
    ctx.connections.db(),
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Refuses `count` new submissions that would take the tenant over its maxPending (429
 * QUOTA_EXCEEDED naming the quota and the current count), or any for a disabled tenant (403).
 * Counts rows in PostgreSQL: submissions still in the broker are not counted, so concurrent
 * requests can pass it together; the scheduler's ingest, which is serial, holds the line.
 */
export async function checkPendingQuota(ctx: SubmitContext, count: number): Promise<void> {
  let tenant;
  try {
    tenant = await ctx.identities.tenant(ctx.tenant);
  } catch (err) {
    // PostgreSQL is down: the broker still takes submissions, and ingest checks the quota.
    ctx.log.debug({ err, tenant: ctx.tenant }, 'quota not checked: tenant unreadable');
    return;
  }
  if (tenant !== undefined && tenant.status !== 'active') {
    throw new ForbiddenError(
      `tenant ${ctx.tenant} is disabled: it accepts no submissions until it is enabled`,
    );
  }
  const max = tenant?.quotas.maxPending;
  if (max === undefined) return;
  const current = await pendingCount(ctx);
  if (current + count > max)
    throw new QuotaExceededError(ctx.tenant, 'maxPending', max, current, count);
}
