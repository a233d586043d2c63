import { WORKLOAD_STATUS } from '@niyanta/messages';
import type { WorkloadStatus } from '@niyanta/messages';
import { BLOCKED_REASON_TEMPLATES, blockedReason, reasonOf } from '../../blocked-types.js';
import type { TypeAvailability } from '../../blocked-types.js';

/** What is written of a PENDING workload that stays PENDING: why it waits, and whether it is parked. */
export interface PendingWrite {
  reason: string;
  parked: boolean;
}

/** The columns the pending-reason decisions read. */
export interface PendingRowState {
  status: WorkloadStatus;
  type: string;
  tenant: string;
  pending_reason: string | null;
  parked: boolean;
}

/**
 * What the placer writes of a workload it read and left PENDING (`left`: its reason, and whether
 * no live worker could ever take it): nothing when neither the reason nor the parking changes,
 * nor when the workload is no longer PENDING. statements/record-unplaced.ts carries it out.
 */
export function unplacedWrite(
  row: Pick<PendingRowState, 'status' | 'pending_reason' | 'parked'>,
  left: PendingWrite,
): PendingWrite | undefined {
  if (row.status !== WORKLOAD_STATUS.PENDING) return undefined;
  if (row.parked === left.parked && row.pending_reason === left.reason) return undefined;
  return { reason: left.reason, parked: left.parked };
}

/**
 * What the sweep writes of a queued (not parked) PENDING workload whose type no live worker with
 * a free slot handles (`availability`): the type's blocked reason, parked when no live worker
 * handles the type at all. A row that already says so is left as it is, and so is one of a full
 * type that waits `queued` behind older work (it still does). statements/explain-blocked-types.ts
 * carries it out.
 */
export function blockedTypeWrite(
  row: Pick<PendingRowState, 'status' | 'type' | 'pending_reason' | 'parked'>,
  availability: Pick<TypeAvailability, 'live' | 'open'>,
): PendingWrite | undefined {
  if (row.status !== WORKLOAD_STATUS.PENDING || row.parked) return undefined;
  const reason = blockedReason(row.type, availability);
  if (reason === null) return undefined;
  const parked = !availability.live.has(row.type);
  if (parked) return { reason, parked };
  if (row.pending_reason === reason) return undefined;
  if (row.pending_reason === reasonOf(BLOCKED_REASON_TEMPLATES.queued, row.type)) return undefined;
  return { reason, parked };
}

/** A tenant at its maxRunning quota, and why its workloads wait. */
export interface SaturatedTenant {
  tenant: string;
  reason: string;
}

/**
 * The reason written of a queued (not parked) PENDING workload of a tenant at its maxRunning
 * (`saturated`, one entry per tenant), unless it already says so; undefined when nothing is
 * written. statements/explain-saturated-tenants.ts carries it out.
 */
export function saturatedTenantReason(
  row: Pick<PendingRowState, 'status' | 'tenant' | 'pending_reason' | 'parked'>,
  saturated: readonly SaturatedTenant[],
): string | undefined {
  if (row.status !== WORKLOAD_STATUS.PENDING || row.parked) return undefined;
  const s = saturated.find((t) => t.tenant === row.tenant);
  return s === undefined || s.reason === row.pending_reason ? undefined : s.reason;
}
