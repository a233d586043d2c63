import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { createTestDatabase, startNatsServer } from '@niyanta/testing';
import type { NatsServerHandle, TestDatabase } from '@niyanta/testing';
import { loadConfig, start } from '../src/index.js';
import type { ApiServer } from '../src/index.js';

const KEEP_ALIVE_MS = 1_000;

let natsServer: NatsServerHandle;
let database: TestDatabase;

beforeAll(async () => {
  natsServer = await startNatsServer();
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.[Symbol.asyncDispose]();
  await natsServer?.[Symbol.asyncDispose]();
});

async function startApi(env: Record<string, string>): Promise<ApiServer> {
  const api = await start(
    loadConfig({
      NATS_URL: natsServer.url,
      DATABASE_URL: database.url,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      ...env,
    }),
  );
  await api.ready;
  return api;
}

/** Sends one keep-alive GET on a raw socket; resolves with the response head once it is in. */
function getHealthz(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end >= 0) {
        socket.off('data', onData);
        resolve(received.slice(0, end));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write('GET /healthz HTTP/1.1\r\nHost: api\r\nConnection: keep-alive\r\n\r\n');
  });
}

describe('HTTP keep-alive', () => {
  it('announces HTTP_KEEP_ALIVE_MS and closes an idle connection only after it', async () => {
    const api = await startApi({ HTTP_KEEP_ALIVE_MS: String(KEEP_ALIVE_MS) });
    try {
      const socket = connect(api.port, '127.0.0.1');
      const closed = new Promise<number>((resolve) =>
        socket.once('close', () => resolve(Date.now())),
      );
      const head = await getHealthz(socket);
      const answeredAt = Date.now();
      expect(head).toMatch(/^HTTP\/1\.1 200/);
      expect(head).toMatch(/\r\nKeep-Alive: timeout=1(\r\n|$)/i);
      // Node checks idle sockets on a timer, so the close comes at or a little after the timeout.
      expect((await closed) - answeredAt).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - 50);
    } finally {
      await api.close();
    }
  });

  it('keeps idle connections for 65 s by default, and closes them at once when it stops', async () => {
    const api = await startApi({});
    const socket = connect(api.port, '127.0.0.1');
    try {
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      const head = await getHealthz(socket);
      expect(head).toMatch(/\r\nKeep-Alive: timeout=65(\r\n|$)/i);
      // A drain must not wait out the keep-alive of an idle client (jest's timeout is 60 s).
      await api.close();
      await closed;
    } finally {
      socket.destroy();
      await api.close();
    }
  });

  it('refuses a keep-alive longer than Node’s request timeout allows, naming the setting', () => {
    expect(() => loadConfig({ DATABASE_URL: database.url, HTTP_KEEP_ALIVE_MS: '300000' })).toThrow(
      /HTTP_KEEP_ALIVE_MS/,
    );
  });
});
