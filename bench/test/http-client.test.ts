import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { JsonClient } from '../src/http-client.js';

describe('JsonClient', () => {
  it('closes an idle keep-alive socket itself, before the server would', async () => {
    // A server that announces `Keep-Alive: timeout=2` and closes idle sockets after 2 s.
    const server = http.createServer({ keepAliveTimeout: 2_000 }, (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    const closedBy = new Promise<'client' | 'server'>((resolve) => {
      server.on('connection', (socket) => {
        let ended = false;
        // A FIN from the client arrives as 'end'; the server's own timeout destroys the socket
        // without one.
        socket.on('end', () => (ended = true));
        socket.on('close', () => resolve(ended ? 'client' : 'server'));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = new JsonClient(`http://127.0.0.1:${port}`);
    try {
      expect(await client.post('/', {})).toEqual({ status: 200, body: { ok: true } });
      expect(await closedBy).toBe('client');
    } finally {
      client.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
