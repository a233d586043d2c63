import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';

/** A TCP proxy in front of a port whose open connections a test can cut. */
export interface TcpProxy extends AsyncDisposable {
  url: string;
  /** Destroys every open connection (both sides), as a dropped network would. */
  cut(): number;
  /** Refuses new connections (destroys them at once) until the returned function is called. */
  hold(): () => void;
  /** The first bytes each connection sent (an HTTP request's head), in order. */
  readonly requests: readonly string[];
}

/** Starts a proxy on a free port forwarding to 127.0.0.1:`targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const requests: string[] = [];
  let held = false;
  const server = createServer((client) => {
    if (held) {
      client.destroy();
      return;
    }
    client.once('data', (chunk: Buffer) => requests.push(chunk.toString('latin1')));
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut() {
      const n = open.size;
      for (const s of open) s.destroy();
      return n;
    },
    hold() {
      held = true;
      return () => {
        held = false;
      };
    },
    requests,
    async [Symbol.asyncDispose]() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
