// Free TCP ports, and whether a given one is taken.
import net from 'node:net';

/** A TCP port the OS reports free on `host` right now (small race: another process may take it). */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function canListen(port, host) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function somethingAnswers(port, host) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const finish = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** True when `port` can be bound on `host` and nothing answers on 127.0.0.1:`port`. */
export async function isPortFree(port, host) {
  return (await canListen(port, host)) && !(await somethingAnswers(port, '127.0.0.1'));
}

/** Connects to host:port until it accepts, `signal` aborts, or `timeoutMs` passes. */
export async function waitForTcp(port, { host = '127.0.0.1', timeoutMs, signal, failed }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await somethingAnswers(port, host)) return;
    const reason = failed?.();
    if (reason) throw new Error(reason);
    signal?.throwIfAborted();
    if (Date.now() > deadline)
      throw new Error(`nothing accepted connections on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
