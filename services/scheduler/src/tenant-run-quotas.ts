import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/** How long the tenants' run quotas are trusted before they are read again. */
export const RUN_QUOTAS_TTL_MS = 1000;

/** The quotas placement enforces; an absent one is unlimited. */
export interface RunQuotas {
  maxRunning?: number;
  maxCpu?: number;
  maxMemoryMb?: number;
  maxGpu?: number;
}

/** What a tenant's SCHEDULED and RUNNING workloads take. */
export interface RunUsage {
  running: number;
  cpu: number;
  memoryMb: number;
  gpu: number;
}

const NO_USAGE: RunUsage = { running: 0, cpu: 0, memoryMb: 0, gpu: 0 };

const RESOURCE_QUOTAS = [
  ['maxCpu', 'cpu'],
  ['maxMemoryMb', 'memoryMb'],
  ['maxGpu', 'gpu'],
] as const;

/**
 * The run quotas of one placement pass: starts from what each limited tenant runs now, says why
 * a workload must wait (`tenant acme is at its maxRunning 10`), and counts each one let through,
 * so a pass never places a tenant past its quota. Pure: the caller reads quotas and usage.
 */
export class TenantRunGate {
  private readonly usage: Map<string, RunUsage>;

  constructor(
    private readonly quotas: ReadonlyMap<string, RunQuotas>,
    usage: ReadonlyMap<string, RunUsage>,
  ) {
    this.usage = new Map([...usage].map(([t, u]) => [t, { ...u }]));
  }

  /** Tenants already at their maxRunning: a pass need not even read their pending work. */
  saturated(): { tenant: string; reason: string }[] {
    const out: { tenant: string; reason: string }[] = [];
    for (const [tenant, q] of this.quotas) {
      const running = this.usage.get(tenant)?.running ?? 0;
      if (q.maxRunning !== undefined && running >= q.maxRunning)
        out.push({ tenant, reason: `tenant ${tenant} is at its maxRunning ${q.maxRunning}` });
    }
    return out;
  }

  /** Why a workload of `tenant` needing `requirements` must wait, or null (and it is counted). */
  admit(
    tenant: string,
    requirements: { cpu?: number; memoryMb?: number; gpu?: number },
  ): string | null {
    const quotas = this.quotas.get(tenant);
    if (quotas === undefined) return null;
    const used = this.usage.get(tenant) ?? { ...NO_USAGE };
    if (quotas.maxRunning !== undefined && used.running + 1 > quotas.maxRunning)
      return `tenant ${tenant} is at its maxRunning ${quotas.maxRunning}`;
    for (const [quota, resource] of RESOURCE_QUOTAS) {
      const max = quotas[quota];
      const need = requirements[resource] ?? 0;
      if (max !== undefined && need > 0 && used[resource] + need > max)
        return `tenant ${tenant} is at its ${quota} ${max} (its active runs take ${used[resource]}, this one needs ${need})`;
    }
    this.usage.set(tenant, {
      running: used.running + 1,
      cpu: used.cpu + (requirements.cpu ?? 0),
      memoryMb: used.memoryMb + (requirements.memoryMb ?? 0),
      gpu: used.gpu + (requirements.gpu ?? 0),
    });
    return null;
  }
}

function runQuotasOf(quotas: Record<string, unknown> | null): RunQuotas | undefined {
  if (quotas === null) return undefined;
  const out: RunQuotas = {};
  for (const key of ['maxRunning', 'maxCpu', 'maxMemoryMb', 'maxGpu'] as const) {
    const v = quotas[key];
    if (typeof v === 'number') out[key] = v;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * Reads the tenants' run quotas (the API writes them; this only reads), at most once per
 * RUN_QUOTAS_TTL_MS, and the current usage of the limited ones: a pass without any run quota
 * costs no query beyond the periodic refresh.
 */
export class TenantRunQuotas {
  private quotas = new Map<string, RunQuotas>();
  private readAt = -Infinity;

  constructor(private readonly db: Kysely<Database>) {}

  /** The gate of one pass, reading usage on `executor` (the pass's transaction). */
  async gate(executor: Kysely<Database> = this.db): Promise<TenantRunGate> {
    if (Date.now() - this.readAt >= RUN_QUOTAS_TTL_MS) {
      const rows = await this.db.selectFrom('tenants').select(['id', 'quotas']).execute();
      const quotas = new Map<string, RunQuotas>();
      for (const r of rows) {
        const q = runQuotasOf(r.quotas as Record<string, unknown> | null);
        if (q !== undefined) quotas.set(r.id, q);
      }
      this.quotas = quotas;
      this.readAt = Date.now();
    }
    if (this.quotas.size === 0) return new TenantRunGate(this.quotas, new Map());
    const { rows } = await sql<{
      tenant: string;
      running: string;
      cpu: number;
      memory_mb: number;
      gpu: number;
    }>`
      select tenant, count(*) as running,
        coalesce(sum((requirements->>'cpu')::float8), 0) as cpu,
        coalesce(sum((requirements->>'memoryMb')::float8), 0) as memory_mb,
        coalesce(sum((requirements->>'gpu')::float8), 0) as gpu
      from workloads
      where status in ('SCHEDULED', 'RUNNING') and tenant = any(${[...this.quotas.keys()]}::text[])
      group by tenant`.execute(executor);
    const usage = new Map<string, RunUsage>(
      rows.map((r) => [
        r.tenant,
        {
          running: Number(r.running),
          cpu: Number(r.cpu),
          memoryMb: Number(r.memory_mb),
          gpu: Number(r.gpu),
        },
      ]),
    );
    return new TenantRunGate(this.quotas, usage);
  }
}
