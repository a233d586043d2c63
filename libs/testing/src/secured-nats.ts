import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startNatsServer } from './nats-server.js';
import type { NatsServerHandle } from './nats-server.js';
import { repoRoot } from './repo-root.js';

/** The broker users of Niyanta's roles (infra/nats/nats-server.conf). */
export const BROKER_ROLES = ['api', 'scheduler', 'health-monitor', 'checkpoint', 'worker'] as const;
export type BrokerRole = (typeof BROKER_ROLES)[number];

/** infra/nats/nats-server.conf: the users of the roles, passwords from the environment. */
export function brokerConfigFile(): string {
  return join(repoRoot(), 'infra', 'nats', 'nats-server.conf');
}

/** infra/nats/permissions.conf: the subject permissions of each role. */
export function brokerPermissionsFile(): string {
  return join(repoRoot(), 'infra', 'nats', 'permissions.conf');
}

/** The environment variable nats-server.conf reads a role's password from (`NATS_API_PASSWORD`). */
export function passwordVariable(user: string): string {
  return `NATS_${user.replace(/-/g, '_').toUpperCase()}_PASSWORD`;
}

/** A nats-server started with Niyanta's configuration, and the credentials of each user. */
export interface SecuredNats extends AsyncDisposable {
  server: NatsServerHandle;
  /** NATS_URL, NATS_USER and NATS_PASSWORD of a role, for a service's environment. */
  env(role: BrokerRole): Record<string, string>;
  /** The user and password of a tenant's submitter (`submitter-<tenant>`). */
  submitter(tenant: string): { user: string; pass: string };
}

/**
 * Starts nats-server with infra/nats/nats-server.conf (random passwords), or, given `tenants`,
 * with its permissions and a submitter of each tenant. `config` is added (e.g. a `tls` block).
 */
export async function startSecuredNatsServer(
  opts: { tenants?: string[]; config?: string } = {},
): Promise<SecuredNats> {
  const submitters = (opts.tenants ?? ['default']).map((t) => `submitter-${t}`);
  const users = [...BROKER_ROLES, ...submitters];
  const passwords = new Map(users.map((u) => [u, `p${randomBytes(18).toString('hex')}`]));
  const env = Object.fromEntries(users.map((u) => [passwordVariable(u), passwords.get(u)!]));
  const server = await startNatsServer(
    opts.tenants === undefined
      ? { includes: [brokerConfigFile()], config: opts.config ?? '', env }
      : {
          includes: [brokerPermissionsFile()],
          config: `${generatedUsers(opts.tenants)}\n${opts.config ?? ''}`,
          env,
        },
  );
  return {
    server,
    env: (role) => ({
      NATS_URL: server.url,
      NATS_USER: role,
      NATS_PASSWORD: passwords.get(role)!,
    }),
    submitter: (tenant) => {
      const user = `submitter-${tenant}`;
      const pass = passwords.get(user);
      if (pass === undefined) throw new Error(`no submitter of tenant ${tenant} was configured`);
      return { user, pass };
    },
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
}

const ROLE_PERMISSIONS: Record<BrokerRole, string> = {
  api: 'API_PERMISSIONS',
  scheduler: 'SCHEDULER_PERMISSIONS',
  'health-monitor': 'HEALTH_MONITOR_PERMISSIONS',
  checkpoint: 'CHECKPOINT_PERMISSIONS',
  worker: 'WORKER_PERMISSIONS',
};

/** The users block of nats-server.conf with a submitter of each of `tenants`. */
function generatedUsers(tenants: string[]): string {
  const roles = BROKER_ROLES.map(
    (r) =>
      `{ user: ${r}, password: $${passwordVariable(r)}, permissions: $${ROLE_PERMISSIONS[r]} }`,
  );
  const submitters = tenants.map(
    (t) =>
      `{ user: submitter-${t}, password: $${passwordVariable(`submitter-${t}`)}, permissions: { ` +
      `publish: { allow: ["niyanta.submit.${t}"] }, subscribe: { allow: ["_INBOX.submit.${t}.>"] } } }`,
  );
  return `authorization {\n  users = [\n    ${[...roles, ...submitters].join('\n    ')}\n  ]\n}`;
}
