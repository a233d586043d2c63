import type { Context } from 'hono';
import { ApiError, ForbiddenError } from '../errors.js';
import { roleAllows } from './roles.js';
import type { Permission, RoleOrRoot } from './roles.js';

/** Who sent a request and on which tenant it acts. */
export interface Principal {
  /** `key`: a tenant's API key; `root`: API_ROOT_KEY; `anonymous`: AUTH_MODE=disabled. */
  kind: 'key' | 'root' | 'anonymous';
  /** What the audit log names: the key id, `root` or `anonymous`. */
  actor: string;
  role: RoleOrRoot;
  /** The tenant every tenant-scoped read and write of the request is limited to. */
  tenant: string;
}

/** What a handler tells the audit log about its request, beyond method and path. */
export interface AuditNote {
  target?: string;
  tenant?: string;
}

interface Vars {
  principal?: Principal;
  auditNote?: AuditNote;
}
const vars = (c: Context) => c as unknown as Context<{ Variables: Vars }>;

/** A request handled without an identity: a bug in the routing of the auth middleware. */
export class MissingPrincipalError extends ApiError {
  override name = 'MissingPrincipalError';
  constructor(readonly path: string) {
    super(`no principal on a request to ${path}: the authentication middleware did not run`);
  }
}

export function setPrincipal(c: Context, principal: Principal): void {
  vars(c).set('principal', principal);
}

/** The request's principal, if it was authenticated. */
export function principalIfAny(c: Context): Principal | undefined {
  return vars(c).get('principal');
}

/** The request's principal after checking it has `permission`; 403 naming both otherwise. */
export function requirePermission(c: Context, permission: Permission): Principal {
  const principal = principalIfAny(c);
  if (principal === undefined) throw new MissingPrincipalError(c.req.path);
  if (!roleAllows(principal.role, permission)) {
    throw new ForbiddenError(
      `role ${principal.role} lacks the permission ${permission}: use a key with a stronger role`,
      { role: principal.role, permission },
    );
  }
  return principal;
}

/** Adds to what the audit entry of this request says. */
export function noteAudit(c: Context, note: AuditNote): void {
  vars(c).set('auditNote', { ...vars(c).get('auditNote'), ...note });
}

export function auditNoteOf(c: Context): AuditNote {
  return vars(c).get('auditNote') ?? {};
}
