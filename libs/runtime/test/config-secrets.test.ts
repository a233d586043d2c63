import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  COMMON_SETTINGS,
  ConfigError,
  DATABASE_SETTING,
  natsAuth,
  parseConfig,
  redactUrl,
} from '@niyanta/runtime';

const spec = { ...COMMON_SETTINGS, ...DATABASE_SETTING } as const;
const DB = 'postgres://niyanta@127.0.0.1:5432/niyanta';

function problemsOf(env: Record<string, string>): string {
  try {
    parseConfig(spec, { DATABASE_URL: DB, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config errors and secrets', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'niyanta-config-'));
    file = join(dir, 'ca.pem');
    writeFileSync(file, 'not checked here');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows a URL with credentials with its password as ***', () => {
    const message = problemsOf({ DATABASE_URL: 'mysql://app:hunter2-db@db:3306/x' });
    expect(message).toContain('DATABASE_URL has scheme "mysql:" in "mysql://app:***@db:3306/x"');
    expect(message).not.toContain('hunter2-db');
    const nats = problemsOf({ NATS_URL: 'http://svc:hunter2-nats@nats:4222' });
    expect(nats).not.toContain('hunter2-nats');
    expect(nats).toContain('http://svc:***@nats:4222');
  });

  it('masks the password of a URL that does not parse', () => {
    expect(redactUrl('postgres://app:hunter2@db:notaport/x')).toBe(
      'postgres://app:***@db:notaport/x',
    );
    const message = problemsOf({ DATABASE_URL: 'postgres://app:hunter2@db:notaport/x' });
    expect(message).toContain('DATABASE_URL is not a URL');
    expect(message).not.toContain('hunter2');
  });

  it('never prints a secret setting, even when it is malformed', () => {
    const secretSpec = {
      SECRET_THING: { kind: 'string', secret: true, pattern: /^[a-f0-9]{64}$/, example: '64 hex' },
    } as const;
    let message = '';
    try {
      parseConfig(secretSpec, { SECRET_THING: 'hunter2-secret' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('SECRET_THING is malformed');
    expect(message).not.toContain('hunter2');
  });

  it('names NATS_USER and NATS_PASSWORD when one is set without the other, never the value', () => {
    expect(problemsOf({ NATS_USER: 'api' })).toContain(
      'NATS_USER is set without NATS_PASSWORD: set both, or neither.',
    );
    const message = problemsOf({ NATS_PASSWORD: 'hunter2-pass' });
    expect(message).toContain('NATS_PASSWORD is set without NATS_USER');
    expect(message).not.toContain('hunter2');
  });

  it('refuses two ways of authenticating and a client certificate without its key', () => {
    const message = problemsOf({
      NATS_TOKEN: 'hunter2-token',
      NATS_CREDS: file,
      NATS_TLS_CERT: file,
    });
    expect(message).toContain(
      'NATS credentials are given more than one way (NATS_CREDS, NATS_TOKEN): set only one of them.',
    );
    expect(message).toContain('NATS_TLS_CERT is set without NATS_TLS_KEY');
    expect(message).not.toContain('hunter2');
  });

  it('names each file variable whose file does not exist', () => {
    const missing = join(dir, 'missing.pem');
    const message = problemsOf({ NATS_CREDS: missing, NATS_TLS_CA: missing });
    expect(message).toContain(
      `NATS_CREDS names a file that does not exist or cannot be read: "${missing}".`,
    );
    expect(message).toContain(
      `NATS_TLS_CA names a file that does not exist or cannot be read: "${missing}".`,
    );
  });

  it('requires TLS when any NATS_TLS_* is set and authenticates the one way given', () => {
    const plain = natsAuth(parseConfig(spec, { DATABASE_URL: DB }));
    expect(plain).toEqual({});
    const tls = natsAuth(
      parseConfig(spec, {
        DATABASE_URL: DB,
        NATS_TLS_CA: file,
        NATS_USER: 'api',
        NATS_PASSWORD: 'p',
      }),
    );
    expect(tls.tls).toEqual({ caFile: file });
    expect(tls.authenticator).toBeDefined();
    expect(tls.authenticator?.()).toEqual({ user: 'api', pass: 'p' });
    expect(
      natsAuth(parseConfig(spec, { DATABASE_URL: DB, NATS_TOKEN: 't' })).authenticator?.(),
    ).toEqual({ auth_token: 't' });
  });
});
