import type { Selectable } from 'kysely';
import type { ApiKeysTable, TenantsTable } from '@niyanta/db';
import type { Db, Logger } from '@niyanta/runtime';
import { TtlCache } from './ttl-cache.js';

export type ApiKeyRow = Selectable<ApiKeysTable>;
export type TenantRow = Selectable<TenantsTable>;

/** How often a key's last use is written: at most once a minute per key. */
export const LAST_USED_WRITE_MS = 60_000;

/**
 * Keys and tenants as the auth middleware needs them, read through short-lived caches: a
 * revocation, a disabled tenant or a changed rate limit made on any API instance is seen here
 * within the TTL (AUTH_CACHE_TTL_MS, at most 1.5 s), with one read per key and tenant per TTL.
 */
export class IdentityStore {
  private readonly keys: TtlCache<ApiKeyRow>;
  private readonly tenants: TtlCache<TenantRow>;
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly db: () => Db['db'],
    ttlMs: number,
    private readonly log: Logger,
  ) {
    this.keys = new TtlCache(ttlMs, (id) =>
      this.db().selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst(),
    );
    this.tenants = new TtlCache(ttlMs, (id) =>
      this.db().selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst(),
    );
  }

  key(id: string): Promise<ApiKeyRow | undefined> {
    return this.keys.get(id);
  }

  tenant(id: string): Promise<TenantRow | undefined> {
    return this.tenants.get(id);
  }

  forgetKey(id: string): void {
    this.keys.delete(id);
  }

  forgetTenant(id: string): void {
    this.tenants.delete(id);
  }

  /** Records that `key` was used, at most once a minute per key and instance; never throws. */
  touch(key: ApiKeyRow): void {
    const now = Date.now();
    const last = Math.max(this.lastUsedWritten.get(key.id) ?? 0, key.last_used_at?.getTime() ?? 0);
    if (now - last < LAST_USED_WRITE_MS) return;
    if (this.lastUsedWritten.size >= 10_000) this.lastUsedWritten.clear();
    this.lastUsedWritten.set(key.id, now);
    this.db()
      .updateTable('api_keys')
      .set({ last_used_at: new Date(now) })
      .where('id', '=', key.id)
      .execute()
      .catch((err: unknown) =>
        this.log.warn({ err, keyId: key.id }, 'recording a key last use failed'),
      );
  }
}
