import { sql } from 'kysely';
import type { SaturatedTenant } from '../decisions/pending-reason.js';
import type { Executor } from './executor.js';

/**
 * `saturatedTenantReason` for up to `limit` queued PENDING workloads of tenants at their
 * maxRunning (the placement query skips them), in one statement, only where the reason changes;
 * rows another transaction holds are skipped.
 */
export async function explainSaturatedTenants(
  executor: Executor,
  saturated: readonly SaturatedTenant[],
  limit: number,
): Promise<void> {
  if (saturated.length === 0) return;
  await sql`
    with stale as (
      select w.id, s.reason
      from workloads w
      join jsonb_to_recordset(${JSON.stringify(saturated)}::jsonb) as s(tenant text, reason text)
        on w.tenant = s.tenant
      where w.status = 'PENDING' and not w.parked and w.pending_reason is distinct from s.reason
      limit ${limit}
      for update of w skip locked
    )
    update workloads w set pending_reason = stale.reason, updated_at = now()
    from stale where w.id = stale.id`.execute(executor);
}
