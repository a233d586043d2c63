import type { Context } from 'hono';
import { TENANT_HEADER } from '../auth/authenticate.js';
import { requirePermission } from '../auth/principal.js';
import type { Permission } from '../auth/roles.js';

/**
 * Whose records a request sees: a tenant key its tenant's; the root key every record (those of
 * no tenant included) unless it names a tenant in Niyanta-Tenant. `undefined` means all.
 */
export function recordScope(c: Context, permission: Permission): string | undefined {
  const principal = requirePermission(c, permission);
  if (principal.kind === 'root' && c.req.header(TENANT_HEADER) === undefined) return undefined;
  return principal.tenant;
}
