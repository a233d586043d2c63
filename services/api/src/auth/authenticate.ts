import type { Context } from 'hono';
import { DEFAULT_TENANT } from '@niyanta/messages';
import type { ApiContext } from '../api-context.js';
import {
  ForbiddenError,
  ResourceNotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../errors.js';
import type { RequestFieldError } from '../errors.js';
import { parseApiKey, sameSecret, secretMatches } from './api-key-format.js';
import type { Principal } from './principal.js';

/** The header with which the root key names the tenant it acts on. */
export const TENANT_HEADER = 'Niyanta-Tenant';
export const TENANT_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const BEARER_RE = /^Bearer +([\x21-\x7e]+) *$/i;

/** What authentication needs to know: the mode, the root key, whether metrics are open. */
export interface AuthSettings {
  enabled: boolean;
  /** API_ROOT_KEY; held only in memory. */
  rootKey: string | undefined;
  metricsAuth: boolean;
}

const DOC_PATHS = new Set(['/metrics', '/openapi.json', '/docs']);

/** Whether a request to `path` needs a key: every /v1 route, and the docs when METRICS_AUTH. */
export function needsAuthentication(path: string, settings: AuthSettings): boolean {
  if (path === '/v1' || path.startsWith('/v1/')) return true;
  return settings.metricsAuth && DOC_PATHS.has(path);
}

const headerField = (message: string): RequestFieldError => ({
  path: TENANT_HEADER,
  in: 'header',
  message,
});

/** The Niyanta-Tenant header: undefined when absent, 400 naming it when not a tenant id. */
function tenantHeader(c: Context): string | undefined {
  const value = c.req.header(TENANT_HEADER);
  if (value === undefined) return undefined;
  if (!TENANT_ID_RE.test(value)) {
    throw new ValidationError(
      `${TENANT_HEADER} ${JSON.stringify(value.slice(0, 100))} is not a tenant id: use 1-63 characters from a-z 0-9 -, starting with a letter or digit`,
      [headerField('must match ^[a-z0-9][a-z0-9-]{0,62}$')],
    );
  }
  return value;
}

/**
 * Who sent the request: the root key (on `default` or the tenant its Niyanta-Tenant header
 * names), a tenant's API key (never on another tenant: 403), or, with authentication disabled,
 * an anonymous admin of `default`. 401 without a valid key; every comparison of a secret takes
 * the same time wherever it differs.
 */
export async function authenticate(ctx: ApiContext, c: Context): Promise<Principal> {
  if (!ctx.auth.enabled) {
    return { kind: 'anonymous', actor: 'anonymous', role: 'admin', tenant: DEFAULT_TENANT };
  }
  const header = c.req.header('authorization');
  if (header === undefined || header === '') {
    throw new UnauthorizedError(
      'the request has no Authorization header: send Authorization: Bearer <API key>',
    );
  }
  const token = BEARER_RE.exec(header)?.[1];
  if (token === undefined) {
    throw new UnauthorizedError(
      'the Authorization header is not "Bearer <API key>": send Authorization: Bearer <API key>',
    );
  }
  const rootKey = ctx.auth.rootKey;
  if (rootKey !== undefined && sameSecret(token, rootKey)) {
    const tenant = tenantHeader(c) ?? DEFAULT_TENANT;
    // `default` always exists: the root key works on it while PostgreSQL is down.
    if (tenant !== DEFAULT_TENANT && (await ctx.identities.tenant(tenant)) === undefined) {
      throw new ResourceNotFoundError('tenant', tenant, headerField(`no tenant ${tenant}`));
    }
    return { kind: 'root', actor: 'root', role: 'root', tenant };
  }
  const parsed = parseApiKey(token);
  if (parsed === undefined) {
    throw new UnauthorizedError(
      'the bearer token is not an API key of this installation (nyk_<id>_<secret>)',
    );
  }
  const key = await ctx.identities.key(parsed.id);
  if (
    key === undefined ||
    key.revoked_at !== null ||
    !secretMatches(parsed.secret, key.secret_sha256)
  ) {
    throw new UnauthorizedError('the API key is unknown or revoked: use a valid key');
  }
  const named = tenantHeader(c);
  if (named !== undefined && named !== key.tenant) {
    throw new ForbiddenError(
      `a key of tenant ${key.tenant} cannot act on tenant ${named}: only the root key names another tenant`,
      { role: key.role },
      headerField(`must be ${key.tenant} (the key's tenant) or absent`),
    );
  }
  const tenant = await ctx.identities.tenant(key.tenant);
  if (tenant === undefined || tenant.status !== 'active') {
    throw new ForbiddenError(
      `tenant ${key.tenant} is disabled: its keys are refused until the installation's operator enables it`,
      { role: key.role },
    );
  }
  ctx.identities.touch(key);
  return { kind: 'key', actor: key.id, role: key.role, tenant: key.tenant };
}
