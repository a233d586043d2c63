import type { ColumnType } from 'kysely';

type Json<T> = ColumnType<T, string, string>;

/** A tenant's limits; an absent field is unlimited. */
export interface TenantQuotas {
  maxPending?: number;
  maxRunning?: number;
  maxCpu?: number;
  maxMemoryMb?: number;
  maxGpu?: number;
}

/** A tenant's request rate: a token bucket refilled at `requestsPerSecond`, holding `burst`. */
export interface TenantRateLimit {
  requestsPerSecond: number;
  burst: number;
}

/** Tenants: every workload belongs to one. `default` always exists. Written only by the API. */
export interface TenantsTable {
  id: string;
  name: string;
  /** Fair-share weight, 1 to 1000. */
  weight: ColumnType<number, number | undefined, number>;
  quotas: ColumnType<TenantQuotas, string | undefined, string>;
  rate_limit: Json<TenantRateLimit> | null;
  status: ColumnType<
    'active' | 'disabled',
    'active' | 'disabled' | undefined,
    'active' | 'disabled'
  >;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}
