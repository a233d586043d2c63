import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BROKER_ROLES, passwordVariable } from '@niyanta/testing';

// docker-compose.yml runs nats-server with infra/nats and gives each service its own broker user.
const ROOT = join(__dirname, '..', '..');
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    { command?: string[]; environment?: Record<string, string>; volumes?: string[] }
  >;
};

/** The repo service a compose service runs (`node services/<name>/dist/main.js`). */
const roleOf = (command: string[] | undefined) =>
  /services\/([^/]+)\//.exec(command?.[1] ?? '')?.[1];

describe('docker-compose.yml and the broker users', () => {
  it('runs nats-server with infra/nats/nats-server.conf and every user password', () => {
    const nats = compose.services.nats!;
    expect(nats.volumes).toContain('./infra/nats:/etc/nats:ro');
    expect(nats.command?.slice(0, 2)).toEqual(['-c', '/etc/nats/nats-server.conf']);
    for (const user of [...BROKER_ROLES, 'submitter-default']) {
      expect(nats.environment?.[passwordVariable(user)]).toContain(
        `\${${passwordVariable(user)}:?`,
      );
    }
  });

  it('connects every service as the user of its role, with that user password', () => {
    const services = Object.entries(compose.services).filter(([, s]) => roleOf(s.command));
    expect(services.length).toBeGreaterThanOrEqual(BROKER_ROLES.length);
    for (const [name, service] of services) {
      const role = roleOf(service.command)!;
      const env = service.environment ?? {};
      expect({ name, user: env.NATS_USER }).toEqual({ name, user: role });
      expect({ name, password: env.NATS_PASSWORD }).toEqual({
        name,
        password: compose.services.nats!.environment?.[passwordVariable(role)],
      });
    }
  });
});
