import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { startNatsServer } from '@niyanta/testing';

/** Opens a raw NATS connection and returns the server's INFO greeting. */
function natsInfo(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('data', (chunk: Buffer) => {
      socket.destroy();
      resolve(chunk.toString('utf8'));
    });
    socket.once('error', reject);
  });
}

describe('startNatsServer', () => {
  it('starts a JetStream server that accepts connections', async () => {
    await using nats = await startNatsServer();
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    const info = await natsInfo(nats.port);
    expect(info).toMatch(/^INFO /);
    expect(JSON.parse(info.slice(5)) as { jetstream?: boolean }).toMatchObject({ jetstream: true });
    expect(existsSync(nats.storeDir)).toBe(true);
  });

  it('restarts on the same port after being killed', async () => {
    await using nats = await startNatsServer();
    const firstPid = nats.pid;
    await nats.kill();
    await expect(natsInfo(nats.port)).rejects.toThrow(/ECONNREFUSED/);
    await nats.restart();
    expect(nats.pid).not.toBe(firstPid);
    expect(await natsInfo(nats.port)).toMatch(/^INFO /);
    expect(nats.output()).toContain('--- restart ---');
  });

  it('removes the temp store directory on dispose', async () => {
    let storeDir: string;
    {
      await using nats = await startNatsServer();
      storeDir = nats.storeDir;
    }
    expect(existsSync(storeDir)).toBe(false);
  });

  it('says how to install nats-server when it is not on PATH', async () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      await expect(startNatsServer()).rejects.toThrow(
        'install it with `apt-get install -y nats-server` (Debian/Ubuntu) or from https://github.com/nats-io/nats-server/releases',
      );
    } finally {
      process.env['PATH'] = path;
    }
  });

  it('reports the tail of the log when the server cannot start', async () => {
    await using first = await startNatsServer();
    // A second server on the same port fails to listen.
    await expect(startNatsServer({ port: first.port })).rejects.toThrow(
      /exited .* before it was ready[\s\S]*last output/,
    );
  });
});
