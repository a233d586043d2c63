import type { Role } from '@niyanta/messages';

/** The roles, strongest first; each includes every one after it. */
export const ROLES = [
  'admin',
  'operator',
  'submitter',
  'viewer',
] as const satisfies readonly Role[];

/** The root key: the installation's owner, above every role. */
export const ROOT = 'root';
export type RoleOrRoot = Role | typeof ROOT;

/** Every permission, with the weakest role that has it (`root`: only the root key). */
export const PERMISSIONS = {
  'workloads:read': 'viewer',
  'schedules:read': 'viewer',
  'tenant:read': 'viewer',
  'workloads:submit': 'submitter',
  'schedules:write': 'submitter',
  'workloads:operate': 'operator',
  'workers:read': 'operator',
  'cluster:read': 'operator',
  'keys:manage': 'admin',
  'secrets:manage': 'admin',
  'tenant:rename': 'admin',
  'audit:read': 'admin',
  'deadletters:read': 'admin',
  'deadletters:replay': 'admin',
  'tenants:manage': ROOT,
} as const satisfies Record<string, RoleOrRoot>;
export type Permission = keyof typeof PERMISSIONS;

const RANK: Record<RoleOrRoot, number> = {
  viewer: 0,
  submitter: 1,
  operator: 2,
  admin: 3,
  root: 4,
};

/** Whether `role` has `permission`. */
export function roleAllows(role: RoleOrRoot, permission: Permission): boolean {
  return RANK[role] >= RANK[PERMISSIONS[permission]];
}

/** Whether `value` names a role. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
