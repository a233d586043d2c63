import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SERVICE_NAMES } from '@niyanta/testing';

// Each built service, started with bad settings that hold secrets: it exits 2 naming the
// variables, and its output carries no secret value.
const ROOT = join(__dirname, '..', '..');

const SECRETS = {
  dbPassword: 'hunter2-database',
  natsPassword: 'hunter2-nats',
  natsToken: 'hunter2-token',
  rootKey: 'hunter2-root',
};

const BAD_ENV = {
  DATABASE_URL: `mysql://niyanta:${SECRETS.dbPassword}@db:3306/niyanta`,
  NATS_URL: `http://svc:${SECRETS.natsPassword}@nats:4222`,
  NATS_PASSWORD: SECRETS.natsPassword,
  NATS_TOKEN: SECRETS.natsToken,
  API_ROOT_KEY: SECRETS.rootKey,
};

function run(service: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'services', service, 'dist', 'main.js')], {
      env: { PATH: process.env.PATH, ...BAD_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('config errors of every service', () => {
  it.each(Object.values(SERVICE_NAMES))(
    '%s names the bad variables and prints no secret',
    async (service) => {
      const { code, output } = await run(service);
      expect({ code, output }).toMatchObject({ code: 2 });
      expect(output).toContain('NATS_PASSWORD is set without NATS_USER');
      expect(output).toContain('NATS_URL has scheme "http:" in "http://svc:***@nats:4222/"');
      for (const secret of Object.values(SECRETS)) expect(output).not.toContain(secret);
    },
  );
});
