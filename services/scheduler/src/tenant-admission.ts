import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/** How long the tenants' status and quotas are trusted before they are read again. */
export const ADMISSION_TTL_MS = 1000;

interface TenantLimits {
  active: boolean;
  maxPending: number | undefined;
  /** Any of maxRunning, maxCpu, maxMemoryMb, maxGpu: placement enforces those. */
  runQuota: boolean;
}

const RUN_QUOTAS = ['maxRunning', 'maxCpu', 'maxMemoryMb', 'maxGpu'] as const;

/** A submission as admission sees it: its tenant and id. */
export interface Admittable {
  tenant: string;
  submission: { id: string };
}

/** The reason a submission is refused for its tenant's maxPending (the API's 429 says the same). */
export function maxPendingReason(tenant: string, max: number, current: number): string {
  return `QUOTA_EXCEEDED: tenant ${tenant} is at its maxPending ${max} (currently ${current})`;
}

/**
 * Which broker submissions their tenant may not have: a disabled tenant's, and those that
 * would take a tenant over its maxPending (PENDING and SCHEDULED rows, in the batch's order).
 * Ingest is serial, so this is where maxPending holds even when several API instances each
 * let a submission through. The tenants table is the API's; this only reads it.
 */
export class TenantAdmission {
  private limits = new Map<string, TenantLimits>();
  private readAt = -Infinity;

  constructor(private readonly db: Kysely<Database>) {}

  private async refresh(): Promise<void> {
    const rows = await this.db.selectFrom('tenants').select(['id', 'status', 'quotas']).execute();
    this.limits = new Map(
      rows.map((r) => [
        r.id,
        {
          active: r.status === 'active',
          maxPending: r.quotas?.maxPending,
          runQuota: RUN_QUOTAS.some((q) => r.quotas?.[q] !== undefined),
        },
      ]),
    );
    this.readAt = Date.now();
  }

  /**
   * Whether `tenant` had a run quota when last read (within a second of the batch being
   * admitted): ingest leaves its work to the placer, which checks the quota against what runs.
   */
  hasRunQuota(tenant: string): boolean {
    return this.limits.get(tenant)?.runQuota === true;
  }

  /** The refused items with their reasons; unknown tenants are left to the caller. */
  async refusals<T extends Admittable>(items: readonly T[]): Promise<Map<T, string>> {
    const refused = new Map<T, string>();
    if (items.length === 0) return refused;
    if (Date.now() - this.readAt >= ADMISSION_TTL_MS) await this.refresh();
    const limited = new Map<string, number>();
    for (const item of items) {
      const limits = this.limits.get(item.tenant);
      if (limits === undefined) continue;
      if (!limits.active)
        refused.set(item, `tenant ${item.tenant} is disabled: it accepts no submissions`);
      else if (limits.maxPending !== undefined) limited.set(item.tenant, limits.maxPending);
    }
    if (limited.size === 0) return refused;
    const tenants = [...limited.keys()];
    const ids = items.filter((i) => limited.has(i.tenant)).map((i) => i.submission.id);
    const [counts, existing] = await Promise.all([
      sql<{ tenant: string; n: string }>`
        select tenant, count(*) as n from workloads
        where tenant = any(${tenants}::text[]) and status in ('PENDING', 'SCHEDULED')
        group by tenant`.execute(this.db),
      // A redelivered submission already in the table is no new work: its insert is skipped.
      sql<{ id: string }>`select id from workloads where id = any(${ids}::uuid[])`.execute(this.db),
    ]);
    const current = new Map(counts.rows.map((r) => [r.tenant, Number(r.n)]));
    const known = new Set(existing.rows.map((r) => r.id));
    for (const item of items) {
      const max = limited.get(item.tenant);
      if (max === undefined || refused.has(item) || known.has(item.submission.id)) continue;
      const n = current.get(item.tenant) ?? 0;
      if (n >= max) refused.set(item, maxPendingReason(item.tenant, max, n));
      else current.set(item.tenant, n + 1);
    }
    return refused;
  }
}
