import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import {
  COMMON_SETTINGS,
  connectNats,
  createLogger,
  natsAuth,
  parseConfig,
} from '@niyanta/runtime';
import { startNatsServer } from '@niyanta/testing';
import type { NatsServerHandle } from '@niyanta/testing';

const log = createLogger('nats-tls-test', 'silent');

let dir: string;
const file = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A key and a certificate signed by the test CA, for `name` (server or client). */
function issue(name: string, ext: string): void {
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  );
  writeFileSync(file(`${name}.ext`), ext);
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
  );
}

let tlsServer: NatsServerHandle;
let plainServer: NatsServerHandle;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'niyanta-tls-'));
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=niyanta-test-ca',
  );
  issue('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue('client', 'extendedKeyUsage=clientAuth\n');
  // Mutual TLS: the server requires a client certificate signed by the CA.
  tlsServer = await startNatsServer({
    config: `tls {
  cert_file: ${JSON.stringify(file('server.pem'))}
  key_file: ${JSON.stringify(file('server.key'))}
  ca_file: ${JSON.stringify(file('ca.pem'))}
  verify: true
}`,
  });
  plainServer = await startNatsServer();
});

afterAll(async () => {
  await tlsServer?.[Symbol.asyncDispose]();
  await plainServer?.[Symbol.asyncDispose]();
  rmSync(dir, { recursive: true, force: true });
});

const tlsEnv = (url: string) => ({
  NATS_URL: url,
  NATS_TLS_CA: file('ca.pem'),
  NATS_TLS_CERT: file('client.pem'),
  NATS_TLS_KEY: file('client.key'),
});

describe('NATS over TLS', () => {
  it('connects a service with NATS_TLS_CA and its client certificate', async () => {
    const config = parseConfig(COMMON_SETTINGS, tlsEnv(tlsServer.url));
    await using nats = await connectNats({
      url: config.NATS_URL,
      name: 'tls-test',
      log,
      auth: natsAuth(config),
    });
    expect(nats.nc.info?.tls_required).toBe(true);
    await nats.jsm.streams.info('NIYANTA_SUBMIT');
  });

  it('is refused without a client certificate, and without the CA', async () => {
    const caOnly = natsAuth(parseConfig(COMMON_SETTINGS, { NATS_TLS_CA: file('ca.pem') }));
    await expect(
      connect({ servers: tlsServer.url, ...caOnly, reconnect: false, timeout: 3_000 }),
    ).rejects.toThrow();
    await expect(
      connect({ servers: tlsServer.url, reconnect: false, timeout: 3_000 }),
    ).rejects.toThrow();
  });

  it('never falls back to plaintext when a NATS_TLS_* variable is set', async () => {
    const config = parseConfig(COMMON_SETTINGS, tlsEnv(plainServer.url));
    await expect(
      connect({ servers: plainServer.url, ...natsAuth(config), reconnect: false, timeout: 3_000 }),
    ).rejects.toThrow(/tls/i);
  });
});
